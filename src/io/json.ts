import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { UserError, fileSystemError } from './errors.js';

/** Read and parse a JSON file; a missing file or bad JSON is a one-line UserError naming the file. */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw fileSystemError(err, path);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    // V8 quotes the text around the error; a binary file would put raw bytes into the message.
    const reason = (err as Error).message.replace(/[^\x20-\x7e]+/g, '?').slice(0, 120);
    throw new UserError(`is not valid JSON (${reason})`, path);
  }
}

/** Read a JSON file and check it against a schema; the error names the first offending field. */
export async function readValidatedJson<T extends z.ZodType>(path: string, schema: T, what: string): Promise<z.infer<T>> {
  const parsed = schema.safeParse(await readJsonFile(path));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`is not ${what} (${issue.path.join('.') || 'root'}: ${issue.message})`, path);
  }
  return parsed.data;
}
