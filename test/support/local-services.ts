/**
 * For the suites that start the local services themselves, several times a file: each start and
 * each data folder a file makes through `servicesScratch` is stopped and removed after the file,
 * pass or fail.
 */
import { afterAll } from 'vitest';
import {
  type LocalServices,
  type LocalServicesOptions,
  startLocalServices,
} from '../../lib/local/services.ts';
import { type TempDir, tempDir } from './scratch.ts';

export interface ServicesScratch {
  /** A new data folder in the system temp folder. */
  folder(): string;
  /** Starts the services. */
  start(options: LocalServicesOptions): Promise<LocalServices>;
}

/** Call at the top of a test file: registers the `afterAll` that stops and removes what it made. */
export function servicesScratch(prefix: string): ServicesScratch {
  const folders: TempDir[] = [];
  const started: LocalServices[] = [];
  afterAll(async () => {
    for (const services of started) await services.stop();
    for (const folder of folders) folder.remove();
  });
  return {
    folder() {
      const folder = tempDir(prefix);
      folders.push(folder);
      return folder.path;
    },
    async start(options) {
      const services = await startLocalServices(options);
      started.push(services);
      return services;
    },
  };
}
