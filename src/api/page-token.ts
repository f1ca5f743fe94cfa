import { aborted, invalid } from '../domain/failure';

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

/** The most entries one ListVolumes or ListSnapshots page holds, whatever max_entries asks for. */
export const MAX_PAGE = 1000;

/** max_entries as a page size: 0 means "as many as the plugin likes" (CSI), a negative number is refused. */
export function pageLimit(maxEntries: number): number {
  if (maxEntries < 0) throw invalid('max_entries must not be negative');
  return maxEntries > 0 ? Math.min(maxEntries, MAX_PAGE) : MAX_PAGE;
}

/** The id after which a page starts; ABORTED for a token this plugin did not issue (CSI: "starting_token invalid"). */
export function pageStart(startingToken: string): string | undefined {
  if (!startingToken) return undefined;
  const after = decodeToken(startingToken);
  if (after === undefined) throw aborted(`starting_token "${startingToken}" is not a token this plugin issued; list again from the start`);
  return after;
}
