// Starts fauxqs for bench/run.sh: its own buildApp() with request logging off (the documented
// FAUXQS_LOGGER=false), bound to 127.0.0.1 rather than the 0.0.0.0 of its CLI, on the port
// given as the first argument. State is in memory, as with `npx fauxqs`.
import { buildApp } from "fauxqs";

const port = parseInt(process.argv[2] ?? "4566", 10);
const app = buildApp({ logger: false, host: `127.0.0.1:${port}` });
await app.listen({ port, host: "127.0.0.1" });
for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => app.close().then(() => process.exit(0)));
}
