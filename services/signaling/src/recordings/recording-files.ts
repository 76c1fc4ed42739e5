import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { realpath, stat, unlink } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import type { Recording } from '@recstack/contracts';
import { UnsafeFileNameError } from '../errors.js';

/** A file name as the recorder writes it: `<id>.<extension>`, one path segment, nothing to escape with. */
const SAFE_FILE_NAME = /^[A-Za-z0-9_-]{1,64}\.[a-z0-9]{1,8}$/;

export interface RecordingFile {
  size: number;
  modified: Date;
  /** reads the inclusive byte range, or the whole file */
  open(range?: { start: number; end: number }): Readable;
}

/** Where a recording's file is, by its `storage`: the folder, or the NATS object store. */
export interface FileSource {
  find(recording: Pick<Recording, 'id' | 'fileName'>): Promise<RecordingFile | undefined>;
  remove(recording: Pick<Recording, 'id' | 'fileName'>): Promise<boolean>;
}

export class RecordingFiles {
  constructor(
    private readonly local: FileSource,
    private readonly nats: FileSource,
  ) {}

  find(recording: Pick<Recording, 'id' | 'fileName' | 'storage'>): Promise<RecordingFile | undefined> {
    return (recording.storage === 'nats' ? this.nats : this.local).find(recording);
  }

  /** Removes the file wherever it is (an upload may have left a local copy behind). */
  async remove(recording: Pick<Recording, 'id' | 'fileName' | 'storage'>): Promise<boolean> {
    const [local, nats] = await Promise.all([this.local.remove(recording), recording.storage === 'nats' ? this.nats.remove(recording) : false]);
    return local || nats;
  }
}

/**
 * The recordings folder (RECORDINGS_DIR, STORAGE=local). Every path it hands out is checked to lie inside the folder,
 * after resolving symbolic links, so a catalog entry can never make signaling serve or delete another file.
 */
export class LocalFiles implements FileSource {
  constructor(readonly dir: string) {}

  /** The recording's file, or undefined when it does not exist (yet, or any more). */
  async find(recording: Pick<Recording, 'fileName'>): Promise<RecordingFile | undefined> {
    const path = await this.resolve(recording.fileName);
    if (!path) return undefined;
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) return undefined;
    return {
      size: info.size,
      modified: info.mtime,
      open: (range) => createReadStream(path, range ? { start: range.start, end: range.end } : {}),
    };
  }

  /** Removes the recording's file; true when there was one. */
  async remove(recording: Pick<Recording, 'fileName'>): Promise<boolean> {
    const path = await this.resolve(recording.fileName);
    if (!path) return false;
    try {
      await unlink(path);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  /** The real path of the file inside the folder; undefined when it does not exist. Throws when it would lie outside. */
  private async resolve(fileName: string): Promise<string | undefined> {
    if (!SAFE_FILE_NAME.test(fileName)) throw new UnsafeFileNameError('the recording has an invalid file name', { cause: new Error(`refused file name ${JSON.stringify(fileName)}`) });
    const dir = await realpath(this.dir).catch(() => undefined);
    if (!dir) return undefined;
    const real = await realpath(join(dir, fileName)).catch(() => undefined);
    if (!real) return undefined;
    const rel = relative(dir, real);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
      throw new UnsafeFileNameError('the recording file is outside the recordings folder', { cause: new Error(`${fileName} resolves to ${real}`) });
    }
    return real;
  }
}
