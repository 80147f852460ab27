/**
 * A stub DNS server on loopback (UDP), answering from an in-memory zone that a test edits as it
 * goes — so the platform's DNS check runs its real path (Node's resolver, real DNS packets) against
 * records the test controls. Packets are encoded and decoded with `dns-packet`. A name in `failing`
 * answers SERVFAIL; a name with no record of the asked type answers NOERROR with no answer
 * (ENODATA); a name not in the zone at all answers NXDOMAIN.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { type Answer, decode, encode, type Packet, RECURSION_AVAILABLE, RECURSION_DESIRED } from 'dns-packet';

/** Response codes, carried in the low four bits of the header flags. */
const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3 } as const;

export interface ZoneRecords {
  cname?: string;
  a?: string[];
  aaaa?: string[];
  caa?: { tag: 'issue' | 'issuewild' | 'iodef'; value: string }[];
}

export interface DnsStub {
  readonly server: string;
  readonly zone: Map<string, ZoneRecords>;
  /** Names that answer SERVFAIL. */
  readonly failing: Set<string>;
  /** Every question asked, as `<type> <name>`. */
  readonly asked: string[];
  set(name: string, records: ZoneRecords): void;
  delete(name: string): void;
  close(): Promise<void>;
}

function answersFor(name: string, type: string, records: ZoneRecords): Answer[] {
  const base = { name, ttl: 5, class: 'IN' as const };
  if (records.cname !== undefined) {
    // A name with a CNAME has nothing else; resolvers follow the chain themselves.
    return type === 'CNAME' || type === 'A' || type === 'AAAA' || type === 'CAA'
      ? [{ ...base, type: 'CNAME', data: records.cname }]
      : [];
  }
  switch (type) {
    case 'A':
      return (records.a ?? []).map((data) => ({ ...base, type: 'A', data }));
    case 'AAAA':
      return (records.aaaa ?? []).map((data) => ({ ...base, type: 'AAAA', data }));
    case 'CAA':
      return (records.caa ?? []).map((record) => ({
        ...base,
        type: 'CAA',
        data: { flags: 0, tag: record.tag, value: record.value },
      }));
    default:
      return [];
  }
}

export async function startDnsStub(): Promise<DnsStub> {
  const zone = new Map<string, ZoneRecords>();
  const failing = new Set<string>();
  const asked: string[] = [];
  const socket: Socket = createSocket('udp4');
  socket.on('message', (message, remote) => {
    let query: Packet;
    try {
      query = decode(message);
    } catch {
      return;
    }
    const question = query.questions?.[0];
    if (question === undefined) return;
    const name = question.name.toLowerCase().replace(/\.$/, '');
    asked.push(`${question.type} ${name}`);
    const records = zone.get(name);
    let rcode: keyof typeof RCODE = 'NOERROR';
    let answers: Answer[] = [];
    if (failing.has(name)) rcode = 'SERVFAIL';
    else if (records === undefined) rcode = 'NXDOMAIN';
    else answers = answersFor(question.name, question.type, records);
    const response = encode({
      id: query.id ?? 0,
      type: 'response',
      flags: RECURSION_DESIRED | RECURSION_AVAILABLE | RCODE[rcode],
      questions: [question],
      answers,
    });
    socket.send(response, remote.port, remote.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address() as AddressInfo;
  return {
    server: `127.0.0.1:${port}`,
    zone,
    failing,
    asked,
    set: (name, records) => zone.set(name.toLowerCase(), records),
    delete: (name) => zone.delete(name.toLowerCase()),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
