/* fuzz_otlp_json.c - libFuzzer target for the OTLP JSON reader (the body: fuzz_otlp.h). */
#include "otlp/otlp.h"

#define FUZZ_OTLP_ENCODING OTLP_JSON
#include "fuzz_otlp.h"
