// Preloaded into a profiled service (bench:billing BENCH_CPU_PROFILE): exit at once on SIGTERM,
// so that --cpu-prof writes its profile (a process ended by the signal itself writes none).
process.once('SIGTERM', () => process.exit(0));
