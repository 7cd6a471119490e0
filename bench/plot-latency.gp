# Latency by percentile of `make bench`'s open-loop latency rows (publish -> waiting consumer,
# from the scheduled send time), for one rate; bench/run.sh writes the data and calls this:
#   gnuplot -e "data='latency-1000.dat'; out='docs/bench/latency-1000.png'; rate=1000; subtitle='...'" bench/plot-latency.gp
# data: a header line ("# x", then one name per system), then one line per percentile: x is
# 1/(1 - p) (2 = p50, 100 = p99, 1000 = p99.9, 10000 stands for the maximum), then each
# system's median latency in ms ("?" where not run). The clients report these four points,
# so the curves are the percentile spectrum at those points, not a full histogram.
set terminal pngcairo size 900,520 font "sans,10"
set output out
set datafile missing "?"
set title sprintf("Publish -> waiting consumer latency at %d msgs/s (median of the runs)\n%s", rate, subtitle)
set logscale xy
set xrange [1.5:15000]
set xtics ("p50" 2, "p90" 10, "p99" 100, "p99.9" 1000, "max" 10000)
set xlabel "percentile"
set ylabel "latency (ms)"
set grid xtics ytics mytics
set key outside right top vertical
ncols = words(system("head -1 ".data)) - 2
plot for [i=1:ncols] data using 1:(column(i+1)) with linespoints lw 2 pt 7 \
     title word(system("head -1 ".data), i+2)
