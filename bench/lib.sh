# shellcheck shell=sh
# bench/lib.sh - what the benchmark scripts share. Sourced, not run.

# gen_mixed_corpus GEN DIR FILES LINES - DIR/app-0.log .. app-(FILES-1).log, each LINES records of
# `GEN --format mixed` with its own seed; a file already there with that many lines is kept.
gen_mixed_corpus() {
	_gen=$1 _dir=$2 _files=$3 _lines=$4 _i=0
	mkdir -p "$_dir"
	while [ "$_i" -lt "$_files" ]; do
		_f=$_dir/app-$_i.log
		if [ ! -s "$_f" ] || [ "$(cat "$_f.lines" 2>/dev/null)" != "$_lines" ]; then
			echo "generating $_f ($_lines records)" >&2
			"$_gen" --format mixed --lines "$_lines" --seed $((_i + 1)) > "$_f"
			echo "$_lines" > "$_f.lines"
		fi
		_i=$((_i + 1))
	done
}
