import { createHash } from 'node:crypto';
import { DomainError, DomainErrors, type UserErrorShape } from '../../domain/errors.ts';
import { countFirmwares, findFirmware, insertFirmware, pageFirmwares } from '../../db/repositories/ota.ts';
import { assertProductVisible, canSeeProduct, requireRole, type Principal } from '../access.ts';
import type { ServiceDeps } from '../deps.ts';
import { toConnection, type PageArgs, idKeyOf } from '../paging.ts';
import { findProduct } from '../../db/repositories/products.ts';
import { DEFAULT_MODULE, type FirmwareRecord, type SignMethod } from './model.ts';
import { pageWindow } from './page-window.ts';

/**
 * Largest firmware package ThingQL stores (bytes).
 * Packages are kept in the database so that every instance can serve them; larger ones are registered by URL.
 */
export const OTA_MAX_FIRMWARE_BYTES = 64 * 1024 * 1024;

/** The reference's module names and versions: letters, digits, `.`, `-`, `_`, 1-64 characters. */
const MODULE_RE = /^[A-Za-z0-9._-]{1,64}$/;
const VERSION_RE = /^[A-Za-z0-9._-]{1,64}$/;
const MD5_RE = /^[0-9a-fA-F]{32}$/;
const SHA256_RE = /^[0-9a-fA-F]{64}$/;

/** An uploaded file (the GraphQL multipart `File`, any Blob): only its bytes are read. */
export interface FirmwareUpload {
  readonly size: number;
  arrayBuffer(): Promise<ArrayBuffer>;
}

export interface CreateFirmwareInput {
  productKey: string;
  name: string;
  version: string;
  module?: string | null;
  signMethod: SignMethod;
  /** Either the bytes... */
  file?: FirmwareUpload | null;
  /** ...or an external URL, with size and md5 (and sha256 for SHA256) given: ThingQL never fetches operator URLs. */
  url?: string | null;
  size?: number | null;
  md5?: string | null;
  sha256?: string | null;
}

const field = (name: string) => ['input', name];

/** Every problem of the input at once (architecture.md habit 7); the bytes are not read yet. */
function checkInput(input: CreateFirmwareInput, maxBytes: number): UserErrorShape[] {
  const errors: UserErrorShape[] = [];
  const name = input.name.trim();
  if (name.length < 1 || [...name].length > 64 || /[\u0000-\u001f\u007f]/.test(name)) {
    errors.push({
      code: 'INVALID_NAME',
      message: 'name must be 1 to 64 characters without control characters',
      field: field('name'),
    });
  }
  if (!VERSION_RE.test(input.version)) {
    errors.push({
      code: 'INVALID_VERSION',
      message: 'version must be 1 to 64 letters, digits, ".", "-" or "_"',
      field: field('version'),
    });
  }
  if (!MODULE_RE.test(input.module ?? DEFAULT_MODULE)) {
    errors.push({
      code: 'INVALID_MODULE',
      message: 'module must be 1 to 64 letters, digits, ".", "-" or "_"',
      field: field('module'),
    });
  }
  const hasFile = input.file != null;
  const hasUrl = input.url != null;
  if (hasFile === hasUrl) {
    errors.push({
      code: 'INVALID_INPUT',
      message: 'give either file (an upload) or url',
      field: field(hasFile ? 'url' : 'file'),
    });
  }
  if (input.md5 != null && !MD5_RE.test(input.md5))
    errors.push({ code: 'INVALID_DIGEST', message: 'md5 must be 32 hex digits', field: field('md5') });
  if (input.sha256 != null && !SHA256_RE.test(input.sha256))
    errors.push({ code: 'INVALID_DIGEST', message: 'sha256 must be 64 hex digits', field: field('sha256') });
  if (hasFile && input.file!.size > maxBytes) {
    errors.push({
      code: 'PAYLOAD_TOO_LARGE',
      message: `the package is ${input.file!.size} bytes; at most ${maxBytes} (register larger packages by url)`,
      field: field('file'),
    });
  }
  if (hasUrl && !hasFile) {
    let ok = false;
    try {
      const u = new URL(input.url!);
      ok = (u.protocol === 'https:' || u.protocol === 'http:') && input.url!.length <= 2048;
    } catch {
      ok = false;
    }
    if (!ok)
      errors.push({
        code: 'INVALID_URL',
        message: 'url must be an absolute http(s) URL of at most 2048 characters',
        field: field('url'),
      });
    if (input.size == null || !Number.isSafeInteger(input.size) || input.size < 1) {
      errors.push({
        code: 'INVALID_INPUT',
        message: 'a package registered by url needs its size in bytes',
        field: field('size'),
      });
    }
    if (input.md5 == null)
      errors.push({ code: 'INVALID_INPUT', message: 'a package registered by url needs its md5', field: field('md5') });
    if (input.signMethod === 'SHA256' && input.sha256 == null) {
      errors.push({
        code: 'INVALID_INPUT',
        message: 'a package registered by url with signMethod SHA256 needs its sha256',
        field: field('sha256'),
      });
    }
  }
  return errors;
}

/** Firmware packages (the reference's CreateOTAFirmware / ListOTAFirmware / QueryOTAFirmware). */
export function createFirmwareService(deps: ServiceDeps & { maxFirmwareBytes?: number }) {
  const db = deps.database.db;
  const maxBytes = deps.maxFirmwareBytes ?? OTA_MAX_FIRMWARE_BYTES;

  return {
    maxBytes,

    async create(p: Principal, input: CreateFirmwareInput): Promise<FirmwareRecord> {
      requireRole(p, 'OPERATOR');
      assertProductVisible(p, input.productKey);
      const errors = checkInput(input, maxBytes);
      if (errors.length > 0) throw new DomainErrors(errors);
      if (!(await findProduct(db, input.productKey)))
        throw new DomainError('PRODUCT_NOT_FOUND', `product ${input.productKey} does not exist`, field('productKey'));

      let content: Buffer | null = null;
      let size = input.size ?? 0;
      let md5 = input.md5?.toLowerCase() ?? '';
      let sha256 = input.sha256?.toLowerCase() ?? '';
      if (input.file) {
        content = Buffer.from(await input.file.arrayBuffer());
        // The declared size is the parser's; the bytes decide.
        if (content.length > maxBytes)
          throw new DomainError(
            'PAYLOAD_TOO_LARGE',
            `the package is ${content.length} bytes; at most ${maxBytes}`,
            field('file'),
          );
        if (content.length === 0) throw new DomainError('INVALID_INPUT', 'the package is empty', field('file'));
        size = content.length;
        md5 = createHash('md5').update(content).digest('hex');
        sha256 = createHash('sha256').update(content).digest('hex');
        // Digests given with an upload are the client's own check that the bytes arrived intact.
        const mismatch = (['md5', 'sha256'] as const).filter(
          (k) => input[k] != null && input[k]!.toLowerCase() !== (k === 'md5' ? md5 : sha256),
        );
        if (mismatch.length > 0) {
          throw new DomainErrors(
            mismatch.map((k) => ({
              code: 'DIGEST_MISMATCH',
              message: `the uploaded bytes do not have the given ${k}`,
              field: field(k),
            })),
          );
        }
        if (input.size != null && input.size !== size)
          throw new DomainError('DIGEST_MISMATCH', `the upload is ${size} bytes, not ${input.size}`, field('size'));
      }
      const created = await insertFirmware(db, {
        productKey: input.productKey,
        name: input.name.trim(),
        version: input.version,
        module: input.module ?? DEFAULT_MODULE,
        size,
        md5,
        sha256,
        signMethod: input.signMethod,
        url: input.file ? null : input.url!,
        content,
      });
      if (!created) {
        throw new DomainError(
          'FIRMWARE_ALREADY_EXISTS',
          `product ${input.productKey} already has version ${input.version} of module ${input.module ?? DEFAULT_MODULE}`,
          field('version'),
        );
      }
      deps.logger.info(
        { productKey: input.productKey, firmwareId: created.id, size, hosted: content !== null },
        'firmware package created',
      );
      return created;
    },

    /** A firmware the caller may see, or null (also for another product's: a scoped key learns nothing). */
    async get(p: Principal, id: number): Promise<FirmwareRecord | null> {
      requireRole(p, 'VIEWER');
      const f = await findFirmware(db, id);
      return f && canSeeProduct(p, f.productKey) ? f : null;
    },

    async list(p: Principal, productKey: string, args: PageArgs) {
      requireRole(p, 'VIEWER');
      assertProductVisible(p, productKey);
      const { page, window } = pageWindow(args);
      const rows = await pageFirmwares(db, productKey, window);
      return toConnection(rows, page, idKeyOf, () => countFirmwares(db, productKey));
    },
  };
}

export type FirmwareService = ReturnType<typeof createFirmwareService>;
