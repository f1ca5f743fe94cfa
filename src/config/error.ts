/** A configuration that cannot work: bad value, missing key, unreadable file. The CLI exits 2 on it. */
export class ConfigError extends Error {}
