#!/usr/bin/env bash
# A recorded fuzzing campaign over every cargo-fuzz target of nd.
#
#   fuzz/campaign.sh [--runs N] [--seconds S] [--targets a[:RUNS],b,...] [--jobs J]
#                    [--sanitizer address|none] [--rss-mb MB] [--timeout S]
#                    [--max-corpus-kib K] [--no-status | --status-only]
#
# --sanitizer none builds without ASan (debug assertions and overflow checks stay on: fuzz/Cargo.toml's
# release profile, every crate but pco) into
# fuzz/target/none, several times faster per execution; address (the default) builds into
# fuzz/target/address. A target written `name:RUNS` gets its own execution budget. Each target's
# -max_len is set below (max_len_of) to what its format needs. --status-only rewrites
# fuzz/STATUS.md from the results of earlier runs (fuzz/target/campaign/*.result), so the
# table can gather runs made with different budgets and sanitizers; a row whose result file is
# not here (another machine or session) is kept from the existing table.
#
# For each target: run libFuzzer from the committed seeds (fuzz/corpus/TARGET) into a scratch
# corpus, with -rss_limit_mb and -timeout set, until N executions or S seconds, whichever comes
# first (--runs 0: no execution limit; the default is 2,000,000 runs, no time limit); then merge the
# seeds and the scratch corpus into a minimal set covering the same features, bounded to
# --max-corpus-kib (smallest inputs first), and write it back to fuzz/corpus/TARGET, which
# `cargo test` replays. Crashes, timeouts and OOMs land in fuzz/artifacts/TARGET/ and are counted.
# fuzz/STATUS.md records per target: executions, time, exec/s, coverage (cov/ft as libFuzzer
# reports them), corpus before/after, and findings, with the commit and the machine.
#
# Needs cargo-fuzz (installed here if missing) and a toolchain that accepts -Z flags:
# RUSTC_BOOTSTRAP=1 on the stable toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

runs=2000000
seconds=0
targets=""
jobs=1
rss_mb=2048
timeout_s=10
max_corpus_kib=1024
write_status=1
status_only=0
sanitizer=address
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --targets) targets=$2; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        --rss-mb) rss_mb=$2; shift 2 ;;
        --timeout) timeout_s=$2; shift 2 ;;
        --max-corpus-kib) max_corpus_kib=$2; shift 2 ;;
        --no-status) write_status=0; shift ;;
        --status-only) status_only=1; shift ;;
        --sanitizer) sanitizer=$2; shift 2 ;;
        -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
        *) echo "campaign.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

export RUSTC_BOOTSTRAP=1
# Fuzz inputs never reach the network, but keep cloud metadata lookups off all the same.
export AWS_EC2_METADATA_DISABLED=true

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

all_targets=$(cd fuzz/fuzz_targets && ls *.rs | sed 's/\.rs$//')
if [ -z "$targets" ]; then
    targets=$all_targets
else
    targets=$(echo "$targets" | tr ',' ' ')
fi
work=fuzz/target/campaign
mkdir -p "$work"

# The largest input libFuzzer generates per target: a few FITS blocks for the FITS parsers,
# enough for several chunks or blocks elsewhere; 4096 (libFuzzer's default) for the rest.
max_len_of() {
    case "$1" in
        fits_header | fits_region) echo 8640 ;;
        fits_walk | fits_table | fits_gzip_tile) echo 14400 ;;
        asdf_open | codec_blosc | codec_lz4 | codec_lzma) echo 8192 ;;
        *) echo 4096 ;;
    esac
}

if [ "$status_only" = 0 ]; then
target_dir=fuzz/target/$sanitizer
# No -a: it would turn pco's debug assertions back on (see fuzz/Cargo.toml); the release profile
# there turns them on for every other crate.
echo "building fuzz targets (release, debug assertions, sanitizer $sanitizer)" >&2
names=$(for t in $targets; do echo "${t%%:*}"; done)
if [ "$(echo $names)" = "$(echo $all_targets)" ]; then
    cargo fuzz build -O -s "$sanitizer" --target-dir "$target_dir" >&2
else
    for t in $names; do cargo fuzz build -O -s "$sanitizer" --target-dir "$target_dir" "$t" >&2; done
fi
bin_dir=$target_dir/$(rustc -vV | sed -n 's/^host: //p')/release

# Run one target; print one tab-separated result line to $work/TARGET.result.
run_target() {
    local t=${1%%:*} runs=$runs
    case "$1" in *:*) runs=${1#*:} ;; esac
    local bin=$bin_dir/$t seeds=fuzz/corpus/$t scratch=$work/$t.corpus log=$work/$t.$sanitizer.log
    local artifacts=fuzz/artifacts/$t
    rm -rf "$scratch" && mkdir -p "$scratch" "$artifacts" "$seeds"
    local before_files before_bytes
    before_files=$(find "$seeds" -type f | wc -l)
    before_bytes=$(du -sb "$seeds" | cut -f1)
    local found_before
    found_before=$(find "$artifacts" -type f | wc -l)
    local limit time_limit=""
    if [ "$seconds" -gt 0 ]; then time_limit="-max_total_time=$seconds"; fi
    local start end
    start=$(date +%s)
    # -fork mode is not used: its statistics are not comparable across targets. A finding stops
    # the run; the loop below resumes it until the execution budget is spent.
    local done_runs=0 status=ok rc
    local extra_runs=$runs max_len
    max_len=$(max_len_of "$t")
    while :; do
        set +e
        limit="-runs=$extra_runs"
        if [ "$seconds" -gt 0 ]; then
            time_limit="-max_total_time=$((seconds - ($(date +%s) - start)))"
        fi
        if [ "$runs" -eq 0 ]; then limit="-runs=-1"; fi
        local log_lines
        log_lines=0
        if [ -f "$log" ]; then log_lines=$(wc -l <"$log"); fi
        "$bin" "$scratch" "$seeds" "$limit" $time_limit -rss_limit_mb="$rss_mb" -timeout="$timeout_s" \
            -max_len="$max_len" -malloc_limit_mb="$rss_mb" -print_final_stats=1 -artifact_prefix="$artifacts/" \
            >>"$log" 2>&1
        rc=$?
        set -e
        local these
        these=$(tail -n +$((log_lines + 1)) "$log" | grep -a '^stat::number_of_executed_units:' |
            tail -1 | awk '{print $2}')
        done_runs=$((done_runs + ${these:-0}))
        if [ $rc -eq 0 ]; then break; fi
        status=findings
        # Stop resuming once the budget is spent or the target keeps failing at once.
        if [ "$runs" -eq 0 ] || [ "${these:-0}" -lt 1000 ] || [ $done_runs -ge "$runs" ]; then break; fi
        if [ "$seconds" -gt 0 ] && [ $(($(date +%s) - start)) -ge "$seconds" ]; then break; fi
        extra_runs=$((runs - done_runs))
    done
    end=$(date +%s)
    local cov ft
    cov=$(grep -aoE 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')
    ft=$(grep -aoE 'ft: [0-9]+' "$log" | tail -1 | awk '{print $2}')
    # Merge seeds and the scratch corpus into a minimal set covering the same features.
    local merged=$work/$t.merged
    rm -rf "$merged" && mkdir -p "$merged"
    "$bin" -merge=1 -rss_limit_mb="$rss_mb" -timeout="$timeout_s" "$merged" "$seeds" "$scratch" \
        >>"$work/$t.$sanitizer.merge.log" 2>&1 || true
    if [ "$(find "$merged" -type f | wc -l)" -gt 0 ]; then
        # Keep the committed seeds (named by hand), then the smallest merged inputs up to the cap.
        # libFuzzer names merged files by the SHA-1 of their content: skip those already seeded.
        local cap=$((max_corpus_kib * 1024)) total known
        total=$(du -sb "$seeds" | cut -f1)
        known=$(find "$seeds" -type f -exec sha1sum {} + | cut -d' ' -f1)
        while read -r size path; do
            local name
            name=$(basename "$path")
            if grep -qx "$name" <<<"$known"; then continue; fi
            if [ $((total + size)) -gt $cap ]; then break; fi
            cp "$path" "$seeds/$name"
            total=$((total + size))
        done < <(find "$merged" -type f -printf '%s %p\n' | sort -n)
    fi
    local after_files after_bytes found
    after_files=$(find "$seeds" -type f | wc -l)
    after_bytes=$(du -sb "$seeds" | cut -f1)
    found=$(( $(find "$artifacts" -type f | wc -l) - found_before ))
    local secs=$((end - start))
    [ $secs -gt 0 ] || secs=1
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s/%s\t%s/%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$done_runs" "$secs" \
        "$((done_runs / secs))" "${cov:-?}" "${ft:-?}" "$before_files" "$before_bytes" \
        "$after_files" "$after_bytes" "$found" "$status" "$sanitizer" "$max_len" \
        "$(git rev-parse --short HEAD)" >"$work/$t.$sanitizer.result"
    echo "$t: $done_runs runs in ${secs}s, cov ${cov:-?} ft ${ft:-?}, findings $found" >&2
}

export -f run_target
export -f max_len_of
export bin_dir work runs seconds rss_mb timeout_s max_corpus_kib sanitizer
for t in $names; do
    rm -f "$work/$t.$sanitizer.log" "$work/$t.$sanitizer.merge.log" "$work/$t.$sanitizer.result"
done
printf '%s\n' $targets | xargs -P "$jobs" -I{} bash -c 'run_target "$@"' _ {}
fi

# fuzz/STATUS.md: the generated table, then whatever follows the marker line in the existing
# file (findings, fixes and notes written by hand are kept).
marker='<!-- end of the generated part: text below is kept by campaign.sh -->'
if [ "$write_status" = 1 ]; then
    kept=""
    old_rows=""
    if [ -f fuzz/STATUS.md ] && grep -qF "$marker" fuzz/STATUS.md; then
        old_rows=$(sed -n "1,/$(printf '%s' "$marker" | sed 's/[][\/.*^$]/\\&/g')/p" fuzz/STATUS.md |
            grep '^| [a-z0-9_]* | \(none\|address\) |' || true)
        kept=$(sed -n "/$(printf '%s' "$marker" | sed 's/[][\/.*^$]/\\&/g')/,\$p" fuzz/STATUS.md | tail -n +2)
    fi
    cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)
    {
        echo "# Fuzzing status"
        echo
        echo "Table written by \`fuzz/campaign.sh\` on $(date -u +%Y-%m-%d), on $(nproc) cores ($cpu),"
        echo "$jobs target(s) at a time. Limits per input: -rss_limit_mb=$rss_mb,"
        echo "-malloc_limit_mb=$rss_mb, -timeout=${timeout_s}s; -max_len per target as listed."
        echo
        echo "One row per target and sanitizer: \`none\` is the counted run (no ASan; debug assertions"
        echo "and overflow checks on), \`address\` a shorter pass under AddressSanitizer. commit: the"
        echo "commit the run was made at. cov and ft are libFuzzer's coverage counters at the end of the"
        echo "run (edges covered and features). Corpus: committed files/bytes before and after the"
        echo "merge. Findings: new files in fuzz/artifacts/TARGET (crashes, timeouts, OOMs); each one"
        echo "must become a regression seed and a fixed bug before the table may say 0."
        echo
        echo "| target | sanitizer | commit | executions | seconds | exec/s | cov | ft | max_len | corpus before | corpus after | findings |"
        echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        for t in $all_targets; do
            for san in none address; do
                if [ -f "$work/$t.$san.result" ]; then
                    IFS=$'\t' read -r name n s rate cov ft before after found status san2 ml at \
                        <"$work/$t.$san.result"
                    echo "| $name | $san | $at | $n | $s | $rate | $cov | $ft | $ml | $before | $after | $found |"
                else
                    # no result here (another machine, or a cleaned target dir): keep the row the
                    # table had, so that one campaign can span sessions
                    printf '%s\n' "$old_rows" | grep -F "| $t | $san |" | head -1 || true
                fi
            done
        done
        echo
        echo "$marker"
        if [ -n "$kept" ]; then echo "$kept"; fi
    } >fuzz/STATUS.md.new
    mv fuzz/STATUS.md.new fuzz/STATUS.md
    echo "wrote fuzz/STATUS.md" >&2
fi

# Exit 1 when any target had findings, so a campaign with open crashes cannot pass as clean.
if [ "$status_only" = 0 ]; then
    for t in $names; do
        if grep -q $'\tfindings\t' "$work/$t.$sanitizer.result" 2>/dev/null; then exit 1; fi
    done
fi
