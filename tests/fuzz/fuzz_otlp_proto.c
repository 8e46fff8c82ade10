/* fuzz_otlp_proto.c - libFuzzer target for the OTLP protobuf reader (the body: fuzz_otlp.h). */
#include "otlp/otlp.h"

#define FUZZ_OTLP_ENCODING OTLP_PROTO
#include "fuzz_otlp.h"
