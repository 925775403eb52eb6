/**
 * Free TCP ports on 127.0.0.1 for servers a test starts itself, found by binding port 0 and releasing it
 * (never the defaults: tests run in parallel).
 */
import net from 'node:net';

/** Distinct free ports: all are held until every one is known, so none repeats. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<net.Server>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** A port nobody listens on (bound to 0, then released). */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port as number;
}
