# Throughput bars of `make bench` (bench/run.sh writes the data and calls this):
#   gnuplot -e "data='throughput.dat'; out='docs/bench/throughput.png'; subtitle='...'" bench/plot-throughput.gp
# data: a header line ("# row", then one name per system), then one line per workload with, per
# system, the median messages/s and its min and max over the runs ("?" where not run).
set terminal pngcairo size 1100,520 font "sans,10"
set output out
set datafile missing "?"
set title "Messages per second, 1 KiB messages, 32 connections (median of the runs; bars: min-max)\n".subtitle
set style data histograms
set style histogram errorbars gap 2 lw 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set ylabel "messages/s"
set yrange [0:*]
set grid ytics
set key outside right top vertical
set xtics nomirror
ncols = words(system("head -1 ".data)) - 2
plot for [i=1:ncols] data using (column(3*i-1)):(column(3*i)):(column(3*i+1)):xtic(1) \
     title word(system("head -1 ".data), i+2)
