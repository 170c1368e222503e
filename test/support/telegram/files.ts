// Files the test server holds: uploads by bots and users, addressable by file_id and file_path.
import { randomBytes } from 'node:crypto';
import type { Document, PhotoSize, Voice } from './types.ts';

export type FileKind = 'photo' | 'document' | 'voice';

export interface StoredFile {
  fileId: string;
  uniqueId: string;
  kind: FileKind;
  path: string;
  bytes: Buffer;
  mimeType: string;
  fileName: string | undefined;
}

const PREFIX: Record<FileKind, string> = { photo: 'AgACAgIAAxkBAAI', document: 'BQACAgIAAxkBAAI', voice: 'AwACAgIAAxkBAAI' };
const FOLDER: Record<FileKind, string> = { photo: 'photos', document: 'documents', voice: 'voice' };

/** Width and height from a PNG or JPEG header; 0×0 for anything else. */
export function imageSize(bytes: Buffer): { width: number; height: number } {
  if (bytes.length >= 24 && bytes.readUInt32BE(0) === 0x89504e47) return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  if (bytes.length > 4 && bytes[0] === 0xff && bytes[1] === 0xd8) {
    let i = 2;
    while (i + 9 < bytes.length) {
      if (bytes[i] !== 0xff) break;
      const marker = bytes[i + 1]!;
      const len = bytes.readUInt16BE(i + 2);
      if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) return { width: bytes.readUInt16BE(i + 7), height: bytes.readUInt16BE(i + 5) };
      i += 2 + len;
    }
  }
  return { width: 0, height: 0 };
}

export class FileStore {
  private readonly byId = new Map<string, StoredFile>();
  private readonly byPath = new Map<string, StoredFile>();
  private counter = 0;

  add(kind: FileKind, bytes: Buffer, opts: { mimeType?: string; fileName?: string } = {}): StoredFile {
    const n = this.counter++;
    const ext = kind === 'photo' ? 'jpg' : kind === 'voice' ? 'oga' : (/\.([a-zA-Z0-9]{1,8})$/.exec(opts.fileName ?? '')?.[1] ?? 'dat');
    const file: StoredFile = {
      fileId: `${PREFIX[kind]}${randomBytes(24).toString('base64url')}`,
      uniqueId: `AQAD${randomBytes(9).toString('base64url')}`,
      kind,
      path: `${FOLDER[kind]}/file_${n}.${ext}`,
      bytes,
      mimeType: opts.mimeType ?? (kind === 'photo' ? 'image/jpeg' : kind === 'voice' ? 'audio/ogg' : 'application/octet-stream'),
      fileName: opts.fileName,
    };
    this.byId.set(file.fileId, file);
    this.byPath.set(file.path, file);
    return file;
  }

  get(fileId: string): StoredFile | undefined {
    return this.byId.get(fileId);
  }

  atPath(path: string): StoredFile | undefined {
    return this.byPath.get(path);
  }
}

export function photoSizes(file: StoredFile): PhotoSize[] {
  const { width, height } = imageSize(file.bytes);
  return [{ file_id: file.fileId, file_unique_id: file.uniqueId, width, height, file_size: file.bytes.length }];
}

export function documentOf(file: StoredFile): Document {
  return { file_id: file.fileId, file_unique_id: file.uniqueId, ...(file.fileName ? { file_name: file.fileName } : {}), mime_type: file.mimeType, file_size: file.bytes.length };
}

export function voiceOf(file: StoredFile, duration: number): Voice {
  return { file_id: file.fileId, file_unique_id: file.uniqueId, duration, mime_type: file.mimeType, file_size: file.bytes.length };
}
