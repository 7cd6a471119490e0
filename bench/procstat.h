/* What the load generators (sluice-loadgen, the peer clients) read of a process. */
#ifndef SLUICE_BENCH_PROCSTAT_H
#define SLUICE_BENCH_PROCSTAT_H

/* utime + stime of a process, in seconds; -1 if unreadable. */
double proc_cpu_s(int pid);
/* A "VmRSS"-style field of /proc/PID/status in KiB; -1 if unreadable. */
long proc_status_kib(int pid, const char *field);
/* This process's own CPU time (user + system), in seconds. */
double self_cpu_s(void);

#endif
