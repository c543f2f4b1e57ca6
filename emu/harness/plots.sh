# shellcheck shell=bash
# mpxlab harness: gnuplot figures (PNG + SVG) in OUT/plots from connections.jsonl / summary.json.
#   mpx_plots_all OUT
# Figures of the first variant: ttfb-box, ttfb-cdf, synopt; across variants: sweep (when the
# client-proxy RTT differs between variants); failover (when a variant has faults).

# _mpx_gp OUT NAME SCRIPT: render SCRIPT (which plots to "set output") as PNG and SVG, in one
# gnuplot process (the script runs once per terminal)
_mpx_gp() {
  local o=$1 n=$2 s=$3
  {
    echo "set terminal pngcairo size 1000,560 font 'sans,10' noenhanced"
    echo "set output '$o/plots/$n.png'"
    echo "$s"
    echo "set terminal svg size 1000,560 font 'sans,10' noenhanced"
    echo "set output '$o/plots/$n.svg'"
    echo "$s"
  } | timeout 60 gnuplot >> "$o/plots/gnuplot.log" 2>&1 || { log "gnuplot $n failed"; return 1; }
}

# _mpx_gp_batch OUT NAME SCRIPT [NAME SCRIPT...]: the figures as _mpx_gp draws them, in two gnuplot
# processes (each start of one with the cairo terminal costs ~30-60 ms of CPU); `reset` before
# each figure gives it the fresh state a process of its own had
_mpx_gp_batch() {
  local o=$1 names='' rc=0 p
  shift
  # (more than one figure: the first in a gnuplot of its own beside the others, ~0.05 s sooner
  # with a CPU free; the same figures)
  if [ $# -ge 4 ] && [ -z "${_MPX_GP_ONE:-}" ]; then
    _MPX_GP_ONE=1 _mpx_gp_batch "$o" "$1" "$2" & p=$!
    shift 2
    _MPX_GP_ONE=1 _mpx_gp_batch "$o" "$@" || rc=1
    wait "$p" || rc=1
    return "$rc"
  fi
  { while [ $# -ge 2 ]; do
      echo "reset"
      echo "set terminal pngcairo size 1000,560 font 'sans,10' noenhanced"
      echo "set output '$o/plots/$1.png'"
      echo "$2"
      echo "set terminal svg size 1000,560 font 'sans,10' noenhanced"
      echo "set output '$o/plots/$1.svg'"
      echo "$2"
      names+=" $1"
      shift 2
    done; } | timeout 60 gnuplot >> "$o/plots/gnuplot.log" 2>&1 || { log "gnuplot$names failed"; return 1; }
}

# _mpx_plots_data OUT: every figure's data in one jq pass over summary.json and
# connections.jsonl (a jq start-up costs ~45 ms of CPU: this was 8 of them). jq prints tagged
# lines, an awk splits them into the data files and prints, one per line: the first variant's
# name, its number of measured signals, the first variant with faults (or ""), then for the
# sweep and for the loss figures: 1 when they apply, their series count, their series names.
# Nothing when there is no first variant. A jq error is shown on stderr (an E line).
# With FED (mpx_plots_all OUT fed) the jq reads summary.json, then connections.jsonl as one array
# (mpx_jsonl_array), from its stdin: started before they exist, it compiles meanwhile.
_mpx_plots_data() {
  local o=$1 d=$1/plots a=(--slurpfile s "$1/summary.json") f=("$1/connections.jsonl") pre='' conns=inputs
  if [ "${2:-}" = fed ]; then a=() f=() pre='input as $__s | [$__s] as $s | input as $__c |' conns='$__c[]'; fi
  jq -r -n "${a[@]}" "$pre"'
    $s[0] as $S | ($S.variants[0].name // empty) as $v0
    | [$S.variants[] | select(.name == $v0)] as $V
    | "V\t\($v0)",
      ($V[] | .signals[] | select(.status == "run" and .ttfb_ms.n > 0) | "S\t\(.signal)"),
      ($V[] | [.signals[] | select(.status == "run" and .ttfb_ms.n > 0)] | to_entries[]
        | "M\t\(.key + 1) \(.value.model.ttfb_ms // "NaN") \(.value.signal)"),
      ($V[] | .signals[] | select(.status == "run" and .syn_opt.bytes != null)
        | "Y\t\(.signal) \(.syn_opt.bytes) \(.syn_opt.left // (40 - .syn_opt.bytes))"),
      (if ([$S.variants[].model.R_cp_ms] | unique | length) > 1 then
        "W\t" + ([$S.variants[] | .model.R_cp_ms as $r | .signals[] | select(.status == "run" and .ttfb_ms.n > 0) |
          {s: .signal, r: $r, m: .ttfb_ms.p50, mo: .model.ttfb_ms}] | group_by(.s)[] |
          (.[0].s | "# " + .), (sort_by(.r)[] | "\(.r) \(.m) \(.mo // "NaN")"), "", "")
       else empty end),
      (if ([$S.variants[].model.R_cp_ms] | unique | length) > 1 then "w\t" else empty end),
      ([$S.variants[] | select(.failover != null)] | .[0] // empty | "F\t\(.name)"),
      ((try ([$S.variants[] | (.params // [] | map(capture("\\.loss=(?<l>[0-9.]+)%") | .l | tonumber) | .[0]) as $l
          | select($l != null) | {l: $l, v: .}] | select(length > 1) | group_by(.l) | length) catch 0) as $nl
       | if $nl > 1 then "l\t",
          try ("L\t" + (def n: if . == null then "NaN" else tostring end;
            [$S.variants[] | (.params // [] | map(capture("\\.loss=(?<l>[0-9.]+)%") | .l | tonumber) | .[0]) as $l
             | select($l != null) | (.sim.calibrated.signals // {}) as $cs
             | .signals[] | select(.status == "run") | . + {loss: $l, cal: ($cs[.signal] // null)}] | group_by(.signal)[]
            | (.[0].signal | "# " + .),
              (sort_by(.loss)[] | [.loss, .ttfb_ms.p50, .ttfb_ms.median_ci95.lo, .ttfb_ms.median_ci95.hi,
                                   .ttfb_ms_p90_ci.p, .ttfb_ms_p90_ci.lo, .ttfb_ms_p90_ci.hi,
                                   .simulated.p50, .simulated.p90, .simulated.p99, .cal.p50, .cal.p90, .cal.p99] | map(n) | join(" ")), "", ""))
          catch "E\tloss.dat: \(.)"
         else empty end),
      # last: an unreadable connection ends the stream here, as it ended the per-connection list
      ('"$conns"' | select(.variant == $v0 and .ok == true and .ttfb_us != null) | "T\t\(.signal) \(.ttfb_us / 1000)")
  ' "${f[@]}" | awk -v d="$d" '
    { t = substr($0, 1, 1); x = substr($0, 3) }
    t == "V" { v0 = x; next }
    t == "S" { want[x] = ++ns; sig[ns] = x; next }
    t == "T" { split(x, f, " "); if (f[1] in want) { k = want[f[1]]; rows[k] = rows[k] x "\n" }; next }
    t == "E" { print "mpx_plots: " x > "/dev/stderr"; next }
    t == "F" { if (fo == "") fo = x; next }
    t == "w" { sw = 1; next }
    t == "l" { sl = 1; next }
    t == "W" { if (x ~ /^# /) { nw++; wn = wn substr(x, 3) " " } }
    t == "L" { if (x ~ /^# /) { nl++; ln = ln substr(x, 3) " " } }
    { buf[t] = buf[t] x "\n" }
    function put(f, s) { printf "%s", s > (d "/" f); close(d "/" f) }
    END {
      if (v0 == "") exit
      put("signals.txt", "")
      if (ns == 0) exit
      s = ""; r = ""
      for (i = 1; i <= ns; i++) { s = s sig[i] "\n"; r = r rows[i]; put("cdf-" sig[i] ".dat", "") }
      put("signals.txt", s); put("ttfb.dat", r); put("model.dat", buf["M"]); put("synopt.dat", buf["Y"])
      if (sw) put("sweep.dat", buf["W"])
      if (sl) put("loss.dat", buf["L"])
      printf "%s\n%d\n%s\n%d\n%d\n%s\n%d\n%d\n%s\n", v0, ns, fo, sw, nw, wn, sl, nl, ln
    }'
}

# mpx_plots_conns CONNECTIONS_JSONL: what the figures read of each connection (variant, signal,
# ok, ttfb_us) as one array, ~20 kB to parse instead of the rows' ~0.5 MB with their analyzer
# records; fails (nothing printed) unless every row starts as the join writes it
# ({"variant":..,"rep":..,"step":..,"signal":..,..,"step_rc":..,"ok":..) and has its "a" key
mpx_plots_conns() {
  awk 'NF == 0 { next }
    { i = index($0, ",\"a\":"); if (i == 0) { bad = 1; exit 3 }
      h = substr($0, 1, i - 1)
      if (!match(h, /^\{"variant":"[^"\\]*","rep":[0-9]+,"step":[0-9]+,"signal":"[^"\\]*","t_start_epoch":[^,]*,"t_step_s":[^,]*,"step_rc":[^,]*,"ok":(true|false|null),/)) { bad = 1; exit 3 }
      m = substr(h, 1, RLENGTH - 1)
      v = m; sub(/^\{"variant":/, "", v); sub(/,"rep":.*/, "", v)
      g = m; sub(/^.*,"signal":/, "", g); sub(/,"t_start_epoch":.*/, "", g)
      o = m; sub(/^.*,"ok":/, "", o)
      t = "null"
      if (match(h, /,"ttfb_us":(null|-?[0-9][0-9.eE+-]*)(,|$)/)) { t = substr(h, RSTART + 11, RLENGTH - 11); sub(/,$/, "", t) }
      out = out (n++ ? "," : "[") "{\"variant\":" v ",\"signal\":" g ",\"ok\":" o ",\"ttfb_us\":" t "}" }
    END { if (bad) exit 3; if (n == 0) out = "["; print out "]" }' "$1"
}

# mpx_plots_all OUT [fed]: fed: started before summary.json exists (mpx_plots_early), its data
# read from stdin (_mpx_plots_data)
mpx_plots_all() {
  local o=$1 d fed=${2:-}; d=$o/plots
  command -v gnuplot >/dev/null || { echo "gnuplot not installed" > "$d/NO-PLOTS"; return 0; }
  mkdir -p "$d"
  [ "$fed" = fed ] || [ -r "$o/summary.json" ] || return 0
  # the figures' data (_mpx_plots_data): signals.txt (first variant, evidence-table order),
  # ttfb.dat ("signal ms" per measured connection, grouped by signal in that order),
  # model.dat (x = 1..n in the same order), synopt.dat, sweep.dat and loss.dat when they apply
  local vars=() v0 n fo sweep nsw swnames loss nlo lonames s
  mapfile -t vars < <(_mpx_plots_data "$o" "$fed")
  [ ${#vars[@]} = 9 ] || return 0
  v0=${vars[0]} n=${vars[1]} fo=${vars[2]} sweep=${vars[3]} nsw=${vars[4]} swnames=${vars[5]}
  loss=${vars[6]} nlo=${vars[7]} lonames=${vars[8]}
  # cdf-SIGNAL.dat: each signal's sorted values with their cumulative fraction
  sort -s -k1,1 -k2,2g "$d/ttfb.dat" | awk -v d="$d" '
    NR == FNR { cnt[$1]++; next }
    { i[$1]++; print $2, i[$1] / cnt[$1] > (d "/cdf-" $1 ".dat") }' "$d/ttfb.dat" -

  local figs=() # (name, script) pairs: one gnuplot draws them (_mpx_gp_batch)
  figs+=(ttfb-box "
set title 'TTFB per signal ($v0): boxes = measured, diamonds = analytic model'
set ylabel 'time to first byte (ms)'
set style data boxplot
set style boxplot outliers pointtype 7
set style fill solid 0.3 border -1
set boxwidth 0.5
set xtics rotate by -30
set key top left
set grid ytics
set yrange [0:*]
set xrange [0.3:$n + 0.7]
plot '$d/ttfb.dat' using (1):2:(0.5):1 with boxplot lc rgb '#4a7ab5' title 'measured', \
     '$d/model.dat' using 1:2 with points pt 13 ps 2 lc rgb '#c0392b' title 'model'")

  local plot='' li=0
  while read -r s; do
    li=$((li + 1))
    [ $li = 1 ] || plot+=", "
    # gnuplot's palette repeats after 8 colours: dashes tell the later signals apart
    plot+="'$d/cdf-$s.dat' using 1:2 with steps lw 2 lc $(( (li - 1) % 8 + 1 )) dt $(( li > 8 ? 2 : 1 )) title '$s'"
  done < "$d/signals.txt"
  figs+=(ttfb-cdf "
set title 'TTFB CDF ($v0)'
set xlabel 'time to first byte (ms)'
set ylabel 'fraction of connections'
set key bottom right
set grid
set yrange [0:1.02]
plot $plot")

  # SYN option budget: used / left per signal (analyzer medians) against the 40-byte line
  if [ -s "$d/synopt.dat" ]; then
    figs+=(synopt "
set title 'TCP option bytes in the client SYN ($v0): used and left of 40'
set ylabel 'bytes'
set style data histograms
set style histogram rowstacked
set style fill solid 0.7 border -1
set boxwidth 0.6
set yrange [0:48]
set xtics rotate by -30
set key top right
set grid ytics
plot '$d/synopt.dat' using 2:xtic(1) lc rgb '#4a7ab5' title 'used', '' using 3 lc rgb '#cfd8dc' title 'left', \
     40 with lines lw 2 dt 2 lc rgb '#c0392b' title '40-byte limit'")
  fi

  # sweep: measured median TTFB against R_cp, one series per signal, model as lines
  if [ "$sweep" = 1 ]; then
    local ns=$nsw names=$swnames
    _mpx_gp "$o" sweep "
set title 'TTFB median against R_cp (points measured, dashed lines model)'
set xlabel 'client-proxy RTT R_cp (ms)'
set ylabel 'TTFB (ms)'
set key outside right
set grid
names = '$names'
plot for [i=0:$((ns - 1))] '$d/sweep.dat' index i using 1:2 with linespoints pt 7 lc i+1 title word(names, i+1), \
     for [i=0:$((ns - 1))] '$d/sweep.dat' index i using 1:3 with lines dt 2 lc i+1 notitle" || true
  fi

  _mpx_gp_batch "$o" "${figs[@]}" || true
  [ -z "$fo" ] || mpx_plot_failover "$o" "$fo" || true
  [ "$loss" != 1 ] || mpx_plot_loss "$o" "$nlo" "$lonames" || true
}

# mpx_plot_failover OUT VARIANT: cumulative payload bytes toward the client on each access link of the
# first variant with faults, with the fault times marked
mpx_plot_failover() {
  local o=$1 v=$2 d; d=$o/plots
  [ -f "$o/links/$v/failover-series.dat" ] || return 0
  local marks
  marks=$(awk 'NR > 0 { printf "set arrow from %s, graph 0 to %s, graph 1 nohead dt 2 lw 2 lc rgb \"#c0392b\"\nset label \"%s %s\" at %s, graph 0.95 offset 0.5,0\n", $1, $1, $2, $3, $1 }' \
    "$o/links/$v/failover-marks.dat" 2>/dev/null)
  local plot
  plot=$(awk '/^# / { if (n++) printf ", "; printf "\x27%s\x27 index %d using 1:2 with lines lw 2 title \"%s\"", f, n - 1, $2 }' \
    f="$o/links/$v/failover-series.dat" "$o/links/$v/failover-series.dat")
  [ -n "$plot" ] || return 0
  _mpx_gp "$o" failover "
set title 'Failover ($v): payload bytes delivered toward the client per access link'
set xlabel 'time since the transfer started (s)'
set ylabel 'cumulative payload (MB)'
set key top left
set grid
$marks
plot $plot"
}

# mpx_plot_loss OUT SERIES NAMES: when the variants differ in a link's loss (loss.exp), TTFB p50 and p90 per
# signal against the loss: measured points with their 95 % intervals, the simulator's (many
# more connections: .exp sim-reps) as dashed lines and, when a loss-free variant calibrated the
# model's processing times (sim.sh), the calibrated model's as dotted lines; a p99 figure from
# the simulator alone (the measured p99 of a few dozen connections has no upper bound). Reads
# loss.dat (_mpx_plots_data; columns 11-13 the calibrated p50/p90/p99, NaN without): SERIES
# signals, NAMES their names.
mpx_plot_loss() {
  local o=$1 d=$1/plots ns=$2 names=$3 q col lo hi sc cc title cal=0 key=''
  mpx_plots_loss_calibrated "$d/loss.dat" && cal=1
  if [ $cal = 1 ]; then
    # legend entries for the line styles (the colours are the signals')
    key=", NaN with lines dt 2 lw 2 lc rgb 'gray40' title 'simulated', NaN with lines dt 3 lw 2 lc rgb 'gray40' title 'calibrated model'"
  fi
  for q in p50 p90; do
    local scale="set logscale y" # the tails span 60 ms to seconds; medians stay near the RTTs
    if [ $q = p50 ]; then col=2 lo=3 hi=4 sc=8 cc=11 scale="set yrange [0:*]"; else col=5 lo=6 hi=7 sc=9 cc=12; fi
    title="TTFB $q against access-link loss (points measured with 95 % intervals, dashed simulated$([ $cal = 0 ] || echo ", dotted calibrated"))"
    _mpx_gp "$o" "loss-$q" "
set title '$title'
set xlabel 'DSL loss, each direction (%)'
set ylabel 'TTFB $q (ms)'
$scale
set key outside right
set grid
names = '$names'
plot for [i=0:$((ns - 1))] '$d/loss.dat' index i using 1:$col:$lo:$hi with yerrorlines pt 7 lc i+1 title word(names, i+1), \
     for [i=0:$((ns - 1))] '$d/loss.dat' index i using 1:$sc with lines dt 2 lw 2 lc i+1 notitle$([ $cal = 0 ] || echo ", \\
     for [i=0:$((ns - 1))] '$d/loss.dat' index i using 1:$cc with lines dt 3 lw 2 lc i+1 notitle$key")" || true
  done
  _mpx_gp "$o" loss-p99 "
set title 'TTFB p99 against access-link loss (simulated$([ $cal = 0 ] || echo ": dashed, calibrated: dotted"))'
set xlabel 'DSL loss, each direction (%)'
set ylabel 'TTFB p99 (ms)'
set logscale y
set key outside right
set grid
names = '$names'
plot for [i=0:$((ns - 1))] '$d/loss.dat' index i using 1:10 with linespoints dt 2 lw 2 pt 6 lc i+1 title word(names, i+1)$([ $cal = 0 ] || echo ", \\
     for [i=0:$((ns - 1))] '$d/loss.dat' index i using 1:13 with lines dt 3 lw 2 lc i+1 notitle$key")" || true
}

# mpx_plots_loss_calibrated LOSS_DAT: true when loss.dat has a calibrated value (column 11)
mpx_plots_loss_calibrated() {
  awk '!/^#/ && NF >= 11 && $11 != "NaN" { f = 1; exit } END { exit !f }' "$1" 2>/dev/null
}
