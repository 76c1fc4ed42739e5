import { ServiceError } from '@recstack/service-kit';

/** An upload to the object store failed or did not verify; the local file is kept. */
export class StorageError extends ServiceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INTERNAL', message, options);
  }
}
