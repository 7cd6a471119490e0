// A minimal ZIP writer for the Lambda tests: every entry is stored (method 0, no
// compression), which is all a function's deployment package needs. Builds the archive in
// memory as local headers + data, then the central directory and its end record
// (PKWARE APPNOTE 4.3). Unix modes go in the external attributes, so a `bootstrap` can be
// executable.
import zlib from "node:zlib";

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

// node:zlib has crc32 since node 20.15; the table is for older nodes.
function crc32(data) {
  if (typeof zlib.crc32 === "function") return zlib.crc32(data) >>> 0;
  let c = 0xffffffff;
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// 1980-01-01 00:00, the earliest DOS date: entries get a fixed time, so a zip is reproducible.
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

function localHeader(name, data, crc) {
  const h = Buffer.alloc(30);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(20, 4); // version needed: 2.0
  h.writeUInt16LE(0x0800, 6); // flags: names are UTF-8
  h.writeUInt16LE(0, 8); // method: stored
  h.writeUInt16LE(DOS_TIME, 10);
  h.writeUInt16LE(DOS_DATE, 12);
  h.writeUInt32LE(crc, 14);
  h.writeUInt32LE(data.length, 18); // compressed size
  h.writeUInt32LE(data.length, 22); // uncompressed size
  h.writeUInt16LE(name.length, 26);
  h.writeUInt16LE(0, 28); // extra field length
  return Buffer.concat([h, name]);
}

function centralHeader(name, data, crc, mode, offset) {
  const h = Buffer.alloc(46);
  h.writeUInt32LE(0x02014b50, 0);
  h.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, 2.0
  h.writeUInt16LE(20, 6);
  h.writeUInt16LE(0x0800, 8);
  h.writeUInt16LE(0, 10);
  h.writeUInt16LE(DOS_TIME, 12);
  h.writeUInt16LE(DOS_DATE, 14);
  h.writeUInt32LE(crc, 16);
  h.writeUInt32LE(data.length, 20);
  h.writeUInt32LE(data.length, 24);
  h.writeUInt16LE(name.length, 28);
  // extra, comment, disk number, internal attributes: all 0 (bytes 30..37)
  h.writeUInt32LE(((0o100000 | mode) << 16) >>> 0, 38); // regular file with this mode
  h.writeUInt32LE(offset, 42);
  return Buffer.concat([h, name]);
}

function endRecord(count, centralSize, centralOffset) {
  const e = Buffer.alloc(22);
  e.writeUInt32LE(0x06054b50, 0);
  e.writeUInt16LE(count, 8); // entries on this disk
  e.writeUInt16LE(count, 10); // entries in all
  e.writeUInt32LE(centralSize, 12);
  e.writeUInt32LE(centralOffset, 16);
  return e;
}

// files: { "path/in/zip": string | Buffer }; modes: { path: unix mode } (default 0o644).
// Returns the archive as a Uint8Array, what the SDK takes as Code.ZipFile.
export function makeZip(files, modes = {}) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const [path, content] of Object.entries(files)) {
    const name = Buffer.from(path, "utf8");
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content, "utf8");
    const crc = crc32(data);
    const local = localHeader(name, data, crc);
    centrals.push(centralHeader(name, data, crc, modes[path] ?? 0o644, offset));
    locals.push(local, data);
    offset += local.length + data.length;
  }
  const central = Buffer.concat(centrals);
  const zip = Buffer.concat([...locals, central, endRecord(centrals.length, central.length, offset)]);
  return new Uint8Array(zip.buffer, zip.byteOffset, zip.length);
}
