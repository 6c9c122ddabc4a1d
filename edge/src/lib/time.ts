// Times: stored as epoch milliseconds, served as ISO-8601.
export const iso = (ms: number | null | undefined): string | null => (ms == null ? null : new Date(ms).toISOString());
export const isoReq = (ms: number): string => new Date(ms).toISOString();
