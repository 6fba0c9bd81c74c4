/**
 * One error class for user mistakes (bad file, bad option, mismatched data). The CLI prints its message
 * on one line and exits 2; anything else is a bug and keeps its stack.
 */
export class UserError extends Error {
  /** The file, folder or option the message is about. */
  readonly subject: string | undefined;
  constructor(message: string, subject?: string) {
    super(subject ? `${subject}: ${message}` : message);
    this.name = 'UserError';
    this.subject = subject;
  }
}

export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}

/** Turn a Node file-system error into a one-line user error naming the path. */
export function fileSystemError(err: unknown, path: string): UserError {
  const code = (err as NodeJS.ErrnoException)?.code;
  const reason =
    code === 'ENOENT' ? 'no such file or folder'
    : code === 'EACCES' ? 'permission denied'
    : code === 'EISDIR' ? 'is a folder, expected a file'
    : code === 'ENOTDIR' ? 'is a file, expected a folder'
    : (err as Error)?.message ?? String(err);
  return new UserError(reason, path);
}
