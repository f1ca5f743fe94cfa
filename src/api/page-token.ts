/**
 * ListVolumes/ListSnapshots tokens: the last id of the previous page, versioned and base64url-encoded so a caller
 * cannot confuse it with an id. Anything that does not decode is not ours (the RPC answers ABORTED).
 */
const VERSION = 'v1:';

export function encodeToken(lastId: string): string {
  return Buffer.from(VERSION + lastId, 'utf8').toString('base64url');
}

export function decodeToken(token: string): string | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
  const text = Buffer.from(token, 'base64url').toString('utf8');
  if (!text.startsWith(VERSION)) return undefined;
  const id = text.slice(VERSION.length);
  return /^[a-z0-9-]{1,63}$/.test(id) ? id : undefined;
}
