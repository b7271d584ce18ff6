/** Severity of a server log line: 'info' for clients coming and going, 'warn' for refusals and failed posted messages. */
export type VfioUserLogLevel = 'debug' | 'info' | 'warn' | 'error';
/** Where the server reports what it did not reply to (posted messages, refused clients, hook failures). */
export type VfioUserLogger = (level: VfioUserLogLevel, message: string) => void;

/** Default: warnings and errors to stderr, with a prefix. */
export const defaultLogger: VfioUserLogger = (level, message) => {
  if (level === 'warn' || level === 'error') process.stderr.write(`nvmu vfio-user ${level}: ${message}\n`);
};
