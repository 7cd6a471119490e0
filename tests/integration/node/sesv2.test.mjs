// SES v2 over REST-JSON with @aws-sdk/client-sesv2 v3: identities, email templates,
// SendEmail (simple, templated, raw) delivered to an SMTP server on loopback, the mail log,
// and errors as the SDK's typed exceptions (NotFoundException, AlreadyExistsException,
// MessageRejected, BadRequestException).
//
// The SMTP server is a few lines of node:net below (no npm package): it greets, accepts
// every envelope and keeps each message's raw text.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import {
  AlreadyExistsException,
  BadRequestException,
  CreateEmailIdentityCommand,
  CreateEmailTemplateCommand,
  DeleteEmailTemplateCommand,
  GetEmailIdentityCommand,
  GetEmailTemplateCommand,
  ListEmailTemplatesCommand,
  MessageRejected,
  NotFoundException,
  SendEmailCommand,
  SESv2Client,
} from "@aws-sdk/client-sesv2";
import { useSluiced, unique, REGION, SLOW, sleep } from "./sluiced.mjs";

const T = { timeout: 30000 * SLOW };

// A minimal SMTP server: enough of RFC 5321 for libcurl's client.
function smtpSink() {
  const sink = { messages: [], port: 0 };
  sink.server = createServer((sock) => {
    let buf = "";
    let inData = false;
    let env = { from: "", rcpt: [] };
    sock.setEncoding("latin1");
    sock.write("220 sink.test ESMTP\r\n");
    sock.on("data", (chunk) => {
      buf += chunk;
      for (;;) {
        if (inData) {
          const end = buf.indexOf("\r\n.\r\n");
          if (end < 0) return;
          const raw = Buffer.from(buf.slice(0, end + 2), "latin1").toString("utf8");
          sink.messages.push({ ...env, raw: raw.replace(/^\.\./gm, ".") });
          buf = buf.slice(end + 5);
          inData = false;
          env = { from: "", rcpt: [] };
          sock.write("250 OK queued\r\n");
          continue;
        }
        const nl = buf.indexOf("\r\n");
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO" || verb === "HELO") sock.write("250-sink.test\r\n250 8BITMIME\r\n");
        else if (verb === "MAIL") { env.from = line.replace(/^MAIL FROM:\s*<?([^>]*)>?.*$/i, "$1"); sock.write("250 OK\r\n"); }
        else if (verb === "RCPT") { env.rcpt.push(line.replace(/^RCPT TO:\s*<?([^>]*)>?.*$/i, "$1")); sock.write("250 OK\r\n"); }
        else if (verb === "DATA") { inData = true; sock.write("354 go ahead\r\n"); }
        else if (verb === "QUIT") { sock.end("221 bye\r\n"); return; }
        else sock.write("250 OK\r\n");
      }
    });
    sock.on("error", () => {});
  });
  sink.start = () => new Promise((res) => sink.server.listen(0, "127.0.0.1", () => { sink.port = sink.server.address().port; res(); }));
  sink.stop = () => new Promise((res) => sink.server.close(() => res()));
  sink.waitFor = async (to, n = 1) => {
    const deadline = Date.now() + 10000 * SLOW;
    for (;;) {
      const got = sink.messages.filter((m) => m.rcpt.includes(to));
      if (got.length >= n || Date.now() > deadline) return got;
      await sleep(50);
    }
  };
  return sink;
}

describe("sesv2 (REST-JSON, @aws-sdk/client-sesv2)", { timeout: 120000 * SLOW }, () => {
  const sink = smtpSink();
  before(() => sink.start());
  const ctx = useSluiced({
    before,
    after,
    args: () => ["--smtp-url", `smtp://127.0.0.1:${sink.port}`, "--smtp-starttls", "off"],
  });
  after(() => sink.stop());
  let ses;
  const sender = `${unique("sender")}@shop.example`;
  before(async () => {
    ses = new SESv2Client({
      endpoint: ctx.server.endpoint,
      region: REGION,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: sender }));
  });
  after(() => ses?.destroy());

  it("verifies identities at once", T, async () => {
    const id = await ses.send(new GetEmailIdentityCommand({ EmailIdentity: sender }));
    assert.equal(id.IdentityType, "EMAIL_ADDRESS");
    assert.equal(id.VerifiedForSendingStatus, true);
    await assert.rejects(
      ses.send(new CreateEmailIdentityCommand({ EmailIdentity: sender })),
      (e) => e instanceof AlreadyExistsException && e.$metadata.httpStatusCode === 400,
    );
    await assert.rejects(
      ses.send(new GetEmailIdentityCommand({ EmailIdentity: "nobody@nowhere.example" })),
      (e) => e instanceof NotFoundException && e.$metadata.httpStatusCode === 404,
    );
  });

  it("sends simple mail: UTF-8 subject, text and HTML, Cc, Reply-To", T, async () => {
    const to = `${unique("to")}@example.test`;
    const cc = `${unique("cc")}@example.test`;
    const r = await ses.send(
      new SendEmailCommand({
        FromEmailAddress: `Shop <${sender}>`,
        Destination: { ToAddresses: [to], CcAddresses: [cc] },
        ReplyToAddresses: ["help@shop.example"],
        Content: {
          Simple: {
            Subject: { Data: "Bestellung bestätigt ✓", Charset: "UTF-8" },
            Body: { Text: { Data: "Danke für Ihre Bestellung!" }, Html: { Data: "<p>Danke!</p>" } },
          },
        },
      }),
    );
    assert.match(r.MessageId, /^[0-9a-f-]+$/);
    const [m] = await sink.waitFor(to);
    assert.ok(m, "the mail did not arrive");
    assert.deepEqual(m.rcpt.sort(), [cc, to].sort());
    assert.equal(m.from, sender);
    assert.match(m.raw, /^Subject: =\?UTF-8\?/m);
    assert.match(m.raw, /^Reply-To: help@shop\.example/m);
    assert.match(m.raw, /multipart\/alternative/);
    assert.match(m.raw, /text\/html/);
    // The mail log has the message as it went out.
    const log = await (await fetch(`${ctx.server.endpoint}/_sluice/ses/messages`)).json();
    const rec = log.messages.find((x) => x.Id === r.MessageId);
    assert.ok(rec, "the mail is not in the mail log");
    assert.equal(rec.Subject, "Bestellung bestätigt ✓");
    assert.equal(rec.Body.text_part, "Danke für Ihre Bestellung!");
  });

  it("manages templates and sends templated mail", T, async () => {
    const name = unique("tpl");
    await ses.send(
      new CreateEmailTemplateCommand({
        TemplateName: name,
        TemplateContent: {
          Subject: "Order {{order.id}} shipped",
          Text: "Hello {{name}},{{#each items}} {{this}}{{/each}}.",
          Html: "<p>Hello {{name}}</p>",
        },
      }),
    );
    const got = await ses.send(new GetEmailTemplateCommand({ TemplateName: name }));
    assert.equal(got.TemplateContent.Subject, "Order {{order.id}} shipped");
    const list = await ses.send(new ListEmailTemplatesCommand({ PageSize: 100 }));
    assert.ok(list.TemplatesMetadata.some((t) => t.TemplateName === name));
    await assert.rejects(
      ses.send(new CreateEmailTemplateCommand({ TemplateName: name, TemplateContent: { Subject: "x", Text: "y" } })),
      (e) => e instanceof AlreadyExistsException,
    );

    const to = `${unique("to")}@example.test`;
    await ses.send(
      new SendEmailCommand({
        FromEmailAddress: sender,
        Destination: { ToAddresses: [to] },
        Content: {
          Template: {
            TemplateName: name,
            TemplateData: JSON.stringify({ name: "Ada", order: { id: "42" }, items: ["tea", "cake"] }),
          },
        },
      }),
    );
    const [m] = await sink.waitFor(to);
    assert.ok(m, "the templated mail did not arrive");
    assert.match(m.raw, /^Subject: Order 42 shipped/m);
    assert.match(m.raw, /Hello Ada, tea cake\./);

    await ses.send(new DeleteEmailTemplateCommand({ TemplateName: name }));
    await assert.rejects(
      ses.send(new GetEmailTemplateCommand({ TemplateName: name })),
      (e) => e instanceof NotFoundException,
    );
  });

  it("passes raw mail through", T, async () => {
    const to = `${unique("raw")}@example.test`;
    const raw = `From: ${sender}\r\nTo: ${to}\r\nSubject: raw one\r\nX-Custom: kept\r\n\r\nraw body line\r\n`;
    await ses.send(
      new SendEmailCommand({
        FromEmailAddress: sender,
        Destination: { ToAddresses: [to] },
        Content: { Raw: { Data: Buffer.from(raw) } },
      }),
    );
    const [m] = await sink.waitFor(to);
    assert.ok(m, "the raw mail did not arrive");
    assert.match(m.raw, /^X-Custom: kept/m);
    assert.match(m.raw, /raw body line/);
  });

  it("refuses unverified senders and bad input with typed errors", T, async () => {
    await assert.rejects(
      ses.send(
        new SendEmailCommand({
          FromEmailAddress: "stranger@unverified.example",
          Destination: { ToAddresses: ["x@example.test"] },
          Content: { Simple: { Subject: { Data: "s" }, Body: { Text: { Data: "b" } } } },
        }),
      ),
      (e) => e instanceof MessageRejected && /not verified/.test(e.message),
    );
    await assert.rejects(
      ses.send(
        new SendEmailCommand({
          FromEmailAddress: sender,
          Destination: { ToAddresses: ["x@example.test"] },
          Content: { Template: { TemplateName: unique("missing"), TemplateData: "{}" } },
        }),
      ),
      (e) => e instanceof NotFoundException || e instanceof BadRequestException,
    );
  });
});
