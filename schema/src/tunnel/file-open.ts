// OpenHead's `file` variant: the stream reads (`get`) or writes (`put`) one file inside the environment over SFTP instead of dialling an app port.
import { z } from 'zod';

/** Longest path accepted (Linux PATH_MAX). */
export const MAX_FILE_PATH = 4096;

/** An absolute path inside the environment: no NUL, bounded, resolved by the target's own SFTP server. */
export const FilePath = z
  .string()
  .min(2)
  .max(MAX_FILE_PATH)
  .refine((p) => p.startsWith('/') && !p.includes('\0') && !p.endsWith('/'), {
    message: 'an absolute file path (starting with /, no NUL, not a directory)',
  });

export const FileOpen = z.object({ op: z.enum(['get', 'put']), path: FilePath });
export type FileOpen = z.infer<typeof FileOpen>;

/** The nominal port of a file stream's OpenHead (it dials nothing: `file` says what to do). */
export const FILE_STREAM_PORT = 22;

/** Audit events of the file endpoints (relay outbox → edge). */
export const FILE_AUDIT = { upload: 'file.upload', download: 'file.download' } as const;
