// Sluice's Node.js runtime for Lambda functions (nodejs* runtimes).
//
// sluiced starts this file with `node` in the function's code directory (LAMBDA_TASK_ROOT)
// and the environment Lambda sets. It speaks the Lambda Runtime API at
// http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/...: it loads the handler named by
// _HANDLER ("file.export", file relative to the task root, found as .js, .mjs or .cjs; ES
// modules for .mjs or a package.json with "type": "module", CommonJS otherwise), reporting
// a failure to /init/error as Lambda's Runtime.ImportModuleError or Runtime.HandlerNotFound,
// then loops: GET invocation/next, run the handler (async, promise-returning or callback
// style), POST its JSON result to invocation/ID/response or {errorType, errorMessage, trace}
// to invocation/ID/error. console output is written as Lambda writes it:
// "TIMESTAMP\tREQUEST_ID\tLEVEL\tmessage".
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import http from "node:http";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { format } from "node:util";

const API = `http://${process.env.AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime`;
const TASK_ROOT = process.env.LAMBDA_TASK_ROOT || process.cwd();
let currentRequestId = "";

// ---- Runtime API -------------------------------------------------------------------------

// One keep-alive connection through node:http (fetch costs several times more CPU per
// request, and a warm invocation makes two).
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function request(method, pathname, headers, payload) {
  return new Promise((resolve, reject) => {
    const req = http.request(API + pathname, { method, headers, agent }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(payload);
  });
}

async function post(pathname, payload, errorType) {
  const headers = { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) };
  if (errorType) headers["Lambda-Runtime-Function-Error-Type"] = errorType;
  await request("POST", pathname, headers, payload);
}

async function next() {
  const resp = await request("GET", "/invocation/next", {});
  if (resp.status !== 200) process.exit(0); // the server let this worker go
  const h = resp.headers;
  return { headers: { get: (name) => h[name.toLowerCase()] ?? null }, body: resp.body };
}

// ---- console ----------------------------------------------------------------------------

function patchConsole() {
  const levels = { log: "INFO", info: "INFO", warn: "WARN", error: "ERROR", debug: "DEBUG", trace: "TRACE" };
  for (const [method, level] of Object.entries(levels)) {
    const stream = level === "ERROR" || level === "WARN" ? process.stderr : process.stdout;
    console[method] = (...args) => {
      const text = format(...args).replace(/\n/g, "\r");
      stream.write(`${new Date().toISOString()}\t${currentRequestId || "undefined"}\t${level}\t${text}\n`);
    };
  }
}

// ---- errors -----------------------------------------------------------------------------

function errorPayload(err, type, message) {
  if (err instanceof Error) {
    return {
      errorType: type || err.name || "Error",
      errorMessage: message ?? err.message,
      trace: String(err.stack || "").split("\n"),
    };
  }
  return { errorType: type || "string", errorMessage: message ?? String(err), trace: [] };
}

function logError(payload) {
  process.stderr.write(
    `${new Date().toISOString()}\t${currentRequestId || "undefined"}\tERROR\t` +
      `${JSON.stringify(payload)}\n`,
  );
}

async function failInit(err, type, message) {
  const payload = errorPayload(err, type, message);
  logError(payload);
  await post("/init/error", JSON.stringify(payload), type);
  process.exit(1);
}

// ---- loading the handler ---------------------------------------------------------------

function isEsmPackage() {
  try {
    const pkg = JSON.parse(readFileSync(path.join(TASK_ROOT, "package.json"), "utf8"));
    return pkg.type === "module";
  } catch {
    return false;
  }
}

async function loadModule(base) {
  const candidates = [".js", ".mjs", ".cjs"].map((ext) => path.join(TASK_ROOT, base + ext));
  const file = candidates.find((f) => existsSync(f));
  if (!file) {
    const err = new Error(`Cannot find module '${base}'`);
    err.name = "Runtime.ImportModuleError";
    throw err;
  }
  if (file.endsWith(".mjs") || (file.endsWith(".js") && isEsmPackage())) {
    return import(pathToFileURL(file).href);
  }
  const require = createRequire(path.join(TASK_ROOT, "index.js"));
  try {
    return require(file);
  } catch (err) {
    if (err.code === "ERR_REQUIRE_ESM") return import(pathToFileURL(file).href);
    throw err;
  }
}

async function loadHandler() {
  const spec = process.env._HANDLER || "";
  const dot = spec.lastIndexOf(".");
  const base = spec.slice(0, dot);
  const name = spec.slice(dot + 1);
  let mod;
  try {
    mod = await loadModule(base);
  } catch (err) {
    if (err instanceof SyntaxError) {
      await failInit(err, "Runtime.UserCodeSyntaxError", `${err.name}: ${err.message}`);
    }
    await failInit(err, "Runtime.ImportModuleError", `Error: ${err.message}`);
  }
  let handler = mod?.[name];
  if (handler === undefined && mod?.default && typeof mod.default === "object") handler = mod.default[name];
  if (typeof handler !== "function") {
    await failInit(null, "Runtime.HandlerNotFound", `${spec} is undefined or not exported`);
  }
  return handler;
}

// ---- the loop ---------------------------------------------------------------------------

function makeContext(headers) {
  const deadline = Number(headers.get("lambda-runtime-deadline-ms") || 0);
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers.get("lambda-runtime-invoked-function-arn"),
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: headers.get("lambda-runtime-aws-request-id"),
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

// Runs the handler: a callback handler (three parameters) answers through the callback,
// any other through its return value (awaited when it is a promise).
function run(handler, event, context) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const callback = (err, result) => {
      if (settled) return;
      settled = true;
      if (err !== null && err !== undefined) reject(err);
      else resolve(result);
    };
    try {
      const out = handler(event, context, callback);
      if (out && typeof out.then === "function") out.then((v) => callback(null, v), (e) => callback(e ?? new Error("undefined")));
      else if (handler.length < 3) callback(null, out);
    } catch (err) {
      callback(err);
    }
  });
}

async function invoke(handler, { headers, body }) {
  const id = headers.get("lambda-runtime-aws-request-id");
  currentRequestId = id;
  const trace = headers.get("lambda-runtime-trace-id");
  if (trace) process.env._X_AMZN_TRACE_ID = trace;
  const context = makeContext(headers);
  let result;
  try {
    const event = body ? JSON.parse(body) : {};
    result = await run(handler, event, context);
  } catch (err) {
    const payload = errorPayload(err);
    logError(payload);
    await post(`/invocation/${id}/error`, JSON.stringify(payload), payload.errorType);
    return;
  }
  let out;
  try {
    out = JSON.stringify(result === undefined ? null : result);
  } catch (err) {
    const payload = errorPayload(err, "Runtime.MarshalError", `Unable to stringify response body`);
    await post(`/invocation/${id}/error`, JSON.stringify(payload), "Runtime.MarshalError");
    return;
  }
  await post(`/invocation/${id}/response`, out);
}

patchConsole();
const handler = await loadHandler();
for (;;) {
  await invoke(handler, await next());
}
