// Starts a fresh sluiced for one test file (free port, temporary data dir), waits for
// /_sluice/health, and stops it with SIGTERM, checking that it exits 0 within 10 s.
import { spawn } from "node:child_process";
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, accessSync, constants } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createHash, randomBytes } from "node:crypto";
import { SQSClient } from "@aws-sdk/client-sqs";

const here = dirname(fileURLToPath(import.meta.url));
export const SLUICED = resolve(process.env.SLUICED ?? join(here, "..", "..", "..", "build", "sluiced"));
export const SANITIZED = !["", "0", undefined].includes(process.env.SLUICE_SANITIZED);
export const SLOW = SANITIZED ? 3 : 1;
export const ACCOUNT = "000000000000";
export const REGION = "us-east-1";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

export class Sluiced {
  constructor(extraArgs = []) {
    this.extraArgs = extraArgs;
    this.dir = mkdtempSync(join(tmpdir(), "sluice-node-"));
    this.dataDir = join(this.dir, "data");
    this.logPath = join(this.dir, "sluiced.log");
    this.proc = null;
    this.port = 0;
  }

  get endpoint() {
    return `http://127.0.0.1:${this.port}`;
  }

  queueUrl(name) {
    return `${this.endpoint}/${ACCOUNT}/${name}`;
  }

  arn(name) {
    return `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`;
  }

  async start() {
    accessSync(SLUICED, constants.X_OK);
    let lastErr;
    for (let attempt = 0; attempt < 5; attempt++) {
      this.port = await freePort();
      const log = openSync(this.logPath, "a");
      this.proc = spawn(
        SLUICED,
        [
          "--bind", "127.0.0.1",
          "--port", String(this.port),
          "--data-dir", this.dataDir,
          "--region", REGION,
          "--account-id", ACCOUNT,
          "--durability", "full",
          "--log-level", "info",
          ...this.extraArgs,
        ],
        { stdio: ["ignore", log, log] },
      );
      closeSync(log);
      this.exited = new Promise((res) => this.proc.once("exit", (code, signal) => res({ code, signal })));
      if (await this.waitHealthy()) return this;
      lastErr = this.logTail();
      if (this.proc.exitCode === null) {
        this.proc.kill("SIGKILL");
        await this.exited;
      }
    }
    throw new Error(`sluiced did not become healthy:\n${lastErr}`);
  }

  async waitHealthy() {
    const deadline = Date.now() + 20000 * SLOW;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) return false;
      try {
        const r = await fetch(`${this.endpoint}/_sluice/health`, { signal: AbortSignal.timeout(2000) });
        if (r.status === 200) {
          JSON.parse(await r.text());
          return true;
        }
      } catch {
        // not up yet
      }
      await sleep(50);
    }
    return false;
  }

  // SIGTERM; resolves to the exit code (null if it had to be killed after 10 s).
  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return this.proc?.exitCode ?? 0;
    this.proc.kill("SIGTERM");
    let timer;
    const timeout = new Promise((res) => {
      timer = setTimeout(() => res("timeout"), 10000 * SLOW);
    });
    const r = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (r === "timeout") {
      this.proc.kill("SIGKILL");
      await this.exited;
      return null;
    }
    return r.code;
  }

  logTail(n = 60) {
    try {
      return readFileSync(this.logPath, "utf8").split("\n").slice(-n).join("\n");
    } catch {
      return "(no log)";
    }
  }

  cleanup() {
    rmSync(this.dir, { recursive: true, force: true });
  }

  // The configuration of any SDK v3 client talking to this server.
  clientConfig(extra = {}) {
    return {
      endpoint: this.endpoint,
      region: REGION,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      maxAttempts: 1, // never hide a failure behind a retry
      ...extra,
    };
  }

  client(extra = {}) {
    return new SQSClient(this.clientConfig(extra));
  }
}

// Registers before/after hooks on the calling test file and returns a handle whose
// `server` and `sqs` are set once the server is up. `args`: more sluiced flags, or a
// function returning them when the server starts (after the file's earlier hooks ran).
export function useSluiced({ before, after, args = [] }) {
  const ctx = { server: null, sqs: null };
  before(async () => {
    ctx.server = await new Sluiced(typeof args === "function" ? args() : args).start();
    ctx.sqs = ctx.server.client();
  }, { timeout: 60000 * SLOW });
  after(async () => {
    if (!ctx.server) return;
    ctx.sqs?.destroy();
    const rc = await ctx.server.stop();
    if (rc !== 0) {
      throw new Error(`sluiced did not exit 0 within 10 s of SIGTERM (rc=${rc}):\n${ctx.server.logTail()}`);
    }
    ctx.server.cleanup();
  }, { timeout: 30000 * SLOW });
  return ctx;
}

export function unique(prefix = "q") {
  return `${prefix}-${randomBytes(6).toString("hex")}`;
}

// The digest SQS returns as MD5OfMessageAttributes: for each attribute in name order,
// len+name, len+DataType, a transport byte (1 string, 2 binary), len+value (4-byte BE lengths).
export function md5Hex(data) {
  return createHash("md5").update(typeof data === "string" ? Buffer.from(data, "utf8") : data).digest("hex");
}

export function md5OfAttributes(attrs) {
  const parts = [];
  const put = (buf) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(buf.length);
    parts.push(len, buf);
  };
  const names = Object.keys(attrs).sort((a, b) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")));
  for (const name of names) {
    const a = attrs[name];
    put(Buffer.from(name, "utf8"));
    put(Buffer.from(a.DataType, "utf8"));
    if (a.StringValue !== undefined) {
      parts.push(Buffer.from([1]));
      put(Buffer.from(a.StringValue, "utf8"));
    } else {
      parts.push(Buffer.from([2]));
      put(Buffer.from(a.BinaryValue));
    }
  }
  return createHash("md5").update(Buffer.concat(parts)).digest("hex");
}

export { sleep };
