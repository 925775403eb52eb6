/**
 * Guards of the listening ports of `up --local` against a peer that opens connections and never uses
 * them: a cap on open connections per listener that closes the idlest one to admit a new one, so a flood
 * of idle sockets can neither exhaust file descriptors nor lock out a real exporter.
 *
 * The soft descriptor limit: Node raises it to the hard limit itself when it starts (PlatformInit in
 * src/node.cc does exactly that on POSIX systems), and Node has no setrlimit to go further. What is left
 * is to read the limit it got and keep every listener's cap under it together.
 */
import { readFileSync } from 'node:fs';
import type net from 'node:net';

/** Descriptors kept free for everything that is not a peer's connection (files, the event loop, stdio). */
const RESERVED_DESCRIPTORS = 64;

/** The soft limit on open files of this process (Linux: /proc/self/limits), or undefined where it cannot be read. */
function openFileLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}

/** The per-listener cap: the one asked for, lowered so `listeners` full listeners fit the descriptor limit. */
export function connectionsPerListener(wanted: number, listeners: number, limit = openFileLimit()): number {
  if (limit === undefined || !Number.isFinite(limit)) return wanted;
  return Math.max(1, Math.min(wanted, Math.floor((limit - RESERVED_DESCRIPTORS) / listeners)));
}

export interface ConnectionLimit {
  /** Connections closed to make room for new ones. */
  readonly closedIdle: number;
  readonly open: number;
  /** A request arrived on this connection: it is the least idle now. */
  touch(socket: net.Socket): void;
  /** The same, by the peer's `address:port` (what grpc-js's call.getPeer() gives). */
  touchPeer(peer: string): void;
}

const peerKey = (socket: net.Socket) => `${socket.remoteAddress}:${socket.remotePort}`;

/**
 * Caps the open connections of `server` at `max`: a new connection past the cap closes the connection
 * whose last request (or, without any, its opening) is the oldest. Activity is counted in requests, not
 * bytes: a socket handed to HTTP/2 or the HTTP parser is read natively, so its byte counters stay still.
 */
export function limitConnections(server: net.Server, max: number): ConnectionLimit {
  /** Least recently active first: touching a socket moves it to the end. */
  const sockets = new Set<net.Socket>();
  const byPeer = new Map<string, net.Socket>();
  let closedIdle = 0;
  const touch = (socket: net.Socket) => {
    if (!sockets.delete(socket)) return;
    sockets.add(socket);
  };
  server.on('connection', (socket: net.Socket) => {
    while (sockets.size >= max) {
      const idlest = sockets.values().next().value!;
      sockets.delete(idlest);
      byPeer.delete(peerKey(idlest));
      // A reset: destroy() alone leaves open a socket that an HTTP/2 (gRPC) session has taken over.
      idlest.resetAndDestroy();
      closedIdle++;
    }
    const key = peerKey(socket);
    sockets.add(socket);
    byPeer.set(key, socket);
    socket.once('close', () => {
      sockets.delete(socket);
      if (byPeer.get(key) === socket) byPeer.delete(key);
    });
  });
  server.on('request', (request: { socket: net.Socket }) => touch(request.socket));
  return {
    get closedIdle() {
      return closedIdle;
    },
    get open() {
      return sockets.size;
    },
    touch,
    touchPeer: (peer) => {
      const socket = byPeer.get(peer);
      if (socket) touch(socket);
    },
  };
}

/**
 * Whether a request's Host header names this machine's loopback listener: an IP literal, `localhost`, or a
 * `*.localhost` name. A web page that rebinds its own domain to 127.0.0.1 (DNS rebinding) sends its
 * domain, and is refused. No Host at all (HTTP/1.0 tools) is allowed: browsers always send one.
 */
export function loopbackHostAllowed(host: string | undefined): boolean {
  if (host === undefined || host === '') return true;
  let hostname: string;
  try {
    hostname = new URL(`http://${host}`).hostname.toLowerCase();
  } catch {
    return false;
  }
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) return true;
  if (hostname.startsWith('[') && hostname.endsWith(']')) return true; // IPv6 literal
  return /^\d{1,3}(?:\.\d{1,3}){3}$/.test(hostname);
}
