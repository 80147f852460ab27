/**
 * Redaction of a resource's credential from what an upstream echoes, at the edges a careless or
 * hostile upstream can pick: every JSON spelling of every form of the credential, and a response
 * cut at the size cap anywhere through one of many echoes (against a real server on loopback).
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpResourceConfig } from '../../../../functions/core/http-resources/model.ts';
import { REDACTED, redactor, sendToResource } from '../../../../functions/core/http-resources/outbound.ts';

const SECRET = 'tok/scrub+unit&<9f2c>"e7\\41';
const CAP = 1024;

/** Spells every character of a text as `\uXXXX`, in the given case. */
function escapeAll(text: string, upper: boolean): string {
  return [...text]
    .map((char) => {
      const hex = char.charCodeAt(0).toString(16).padStart(4, '0');
      return `\\u${upper ? hex.toUpperCase() : hex}`;
    })
    .join('');
}

/** Percent-encoding with lowercase hex digits, as some encoders write it. */
function lowerPercent(text: string): string {
  return encodeURIComponent(text).replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase());
}

describe('redactor', () => {
  const redact = redactor(SECRET, { scheme: 'bearer' });
  const base64 = Buffer.from(SECRET, 'utf8').toString('base64');
  const headerBase64 = Buffer.from(`Bearer ${SECRET}`, 'utf8').toString('base64');

  it('redacts every form in every spelling JSON allows', () => {
    const spelled = [
      SECRET,
      JSON.stringify(SECRET).slice(1, -1),
      JSON.stringify(SECRET).slice(1, -1).replace(/\//g, '\\/'), // PHP
      JSON.stringify(SECRET)
        .slice(1, -1)
        .replace(/[<>&]/g, (char) => escapeAll(char, false)), // Go
      escapeAll(SECRET, true),
      escapeAll(SECRET, false),
      base64,
      base64.replace(/\//g, '\\/'),
      escapeAll(base64, false),
      encodeURIComponent(SECRET),
      lowerPercent(SECRET),
      encodeURIComponent(SECRET).replace(/%3C/, '%3c'), // mixed case
      headerBase64, // the whole header value as sent, encoded
      headerBase64.replace(/\//g, '\\/'),
      encodeURIComponent(headerBase64),
      lowerPercent(base64),
    ];
    for (const text of spelled) expect(redact(`<${text}>`), text).toBe(`<${REDACTED}>`);
    // Decoded as JSON, nothing of it is left either.
    expect(JSON.parse(redact(`"${escapeAll(SECRET, false)}"`))).toBe(REDACTED);
  });

  it('redacts the base64 of the whole header under the basic and header schemes too', () => {
    const basic = redactor('ada:s3cr3t-pass', { scheme: 'basic' });
    const sent = `Basic ${Buffer.from('ada:s3cr3t-pass').toString('base64')}`;
    for (const text of [sent, Buffer.from(sent).toString('base64'), lowerPercent(sent)]) {
      expect(basic(`<${text}>`), text).not.toMatch(/YWRhOnMzY3Iz|s3cr3t|QmFzaWMg/);
    }
    const header = redactor('s3cr3t-tok/en+==', { scheme: 'header', header: 'x-api-key' });
    expect(header(`<${lowerPercent('s3cr3t-tok/en+==')}>`)).toBe(`<${REDACTED}>`);
  });

  it('leaves text that only resembles it alone', () => {
    const text = `${SECRET.slice(0, -1)} ${SECRET.toUpperCase()} \\u00`;
    expect(redact(text)).toBe(text);
  });
});

describe('a response cut at the cap', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    // `/echo?pad=N&times=K&spell=S`: N bytes of padding, then the credential K times, spelled.
    server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://x');
      const pad = Number(url.searchParams.get('pad'));
      const times = Number(url.searchParams.get('times'));
      const escaped = url.searchParams.get('spell') === 'escaped';
      const echo = escaped ? escapeAll(SECRET, false) : SECRET;
      response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      response.end(
        `${'é'.repeat(pad >> 1)}${'x'.repeat(pad & 1)}${`${echo}.`.repeat(times)}${'z'.repeat(4096)}`,
      );
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => {
    server.close();
  });

  const resource = (): HttpResourceConfig => ({
    name: 'Echo',
    description: '',
    baseUrl: `http://127.0.0.1:${port}`,
    methods: ['GET'],
    paths: ['/echo'],
    writeAllowed: false,
    auth: { scheme: 'bearer' },
    timeoutSeconds: 5,
    maxResponseBytes: CAP,
    localDevelopment: true,
  });

  it('keeps no piece of the credential, and no more than the cap, wherever it cuts', async () => {
    const pieces = (text: string) => {
      const found: string[] = [];
      for (let start = 0; start + 6 <= SECRET.length; start++) {
        if (text.includes(SECRET.slice(start, start + 6))) found.push(SECRET.slice(start, start + 6));
      }
      return found;
    };
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: CAP }),
        fc.integer({ min: 1, max: 40 }),
        fc.constantFrom('plain', 'escaped'),
        async (pad, times, spell) => {
          const response = await sendToResource(
            { method: 'GET', path: '/echo', query: { pad: String(pad), times: String(times), spell } },
            {
              resource: resource(),
              credential: SECRET,
              allowLocalDevelopment: true,
              timeoutMs: 5000,
              oversize: 'truncate',
            },
          );
          expect(response.truncated).toBe(true);
          expect(Buffer.byteLength(response.body, 'utf8')).toBeLessThanOrEqual(CAP);
          // Many echoes before the cut shrink the text; one read past the cap must still not show through.
          const decoded = response.body.replace(/\\u([0-9a-f]{4})/gi, (_, hex: string) =>
            String.fromCharCode(Number.parseInt(hex, 16)),
          );
          expect(pieces(decoded)).toEqual([]);
        },
      ),
      { numRuns: 150 },
    );
  });
});
