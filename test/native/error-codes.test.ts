/**
 * Every failure code the native core can report (its ErrorCode enum, native/core/error_code.h,
 * read from the compiled addon) is a KazooErrorCode of lib/errors.ts and documented in
 * docs/errors.md: a code added on the C++ side only cannot reach users undocumented.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { testing } from '../../lib/native';

const root = path.resolve(__dirname, '../..');
const errorsTs = fs.readFileSync(path.join(root, 'lib/errors.ts'), 'utf8');
const errorsMd = fs.readFileSync(path.join(root, 'docs/errors.md'), 'utf8');
const codes = testing.errorCodes();

describe('native error codes', () => {
  it('lists the codes the core reports', () => {
    expect(codes).toEqual(expect.arrayContaining(['CONNECT_FAILED', 'PUBLISH_TIMEOUT', 'PUBLISH_BUFFER_FULL']));
    expect(new Set(codes).size).toBe(codes.length);
  });

  it.each(codes)('%s is a KazooErrorCode in lib/errors.ts', (code) => {
    expect(errorsTs).toContain(`| '${code}'`);
  });

  it.each(codes)('%s has its section in docs/errors.md', (code) => {
    expect(errorsMd).toContain(`### \`${code}\``);
  });
});
