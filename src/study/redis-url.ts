/**
 * `redis://[[user]:password@]host[:port][/db]` and `rediss://` (TLS) as given to `--queue`, parsed into
 * ioredis connection options. A bad URL is a UserError naming the option; the password never appears in
 * messages (`describeRedisUrl` masks it).
 */
import { isIP } from 'node:net';
import { UserError } from '../io/errors.js';

export interface RedisConnectionOptions {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  /** Present for rediss://: the server certificate must chain to a trusted CA (system or NODE_EXTRA_CA_CERTS) and name the host. */
  tls?: { servername?: string };
}

export const DEFAULT_REDIS_PORT = 6379;

export function parseRedisUrl(text: string, option = '--queue'): RedisConnectionOptions {
  const fail = (why: string): never => {
    throw new UserError(`${why} (expected redis://[:password@]host:port[/db] or rediss://...)`, option);
  };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail(`"${maskPassword(text)}" is not a URL`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') fail(`unsupported scheme "${url.protocol.replace(/:$/, '')}"`);
  // URL keeps IPv6 literals bracketed; ioredis wants them bare.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) fail('has no host');
  const port = url.port === '' ? DEFAULT_REDIS_PORT : Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`port "${url.port}" is out of range 1-65535`);
  const path = url.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d+$/.test(path)) fail(`database "${path}" is not a non-negative integer`);
  const db = path === '' ? 0 : Number(path);
  if (url.search || url.hash) fail('must not have a query or fragment');
  const options: RedisConnectionOptions = { host, port, db };
  if (url.username) options.username = decodeURIComponent(url.username);
  if (url.password) options.password = decodeURIComponent(url.password);
  // SNI takes a host name only; an IP address is checked against the certificate's IP entries.
  if (url.protocol === 'rediss:') options.tls = isIP(host) ? {} : { servername: host };
  return options;
}

/** The URL for messages: the password replaced by `***`. */
export function describeRedisUrl(text: string): string {
  return maskPassword(text);
}

function maskPassword(text: string): string {
  return text.replace(/^(rediss?:\/\/[^:@/]*:)[^@/]*@/i, '$1***@');
}
