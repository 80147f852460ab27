/**
 * The credential store on AWS Secrets Manager: one secret per key, named `<prefix><key>` (the
 * stack grants the functions exactly `<prefix>*`). Secrets Manager's own staging labels carry the
 * two versions: AWSCURRENT is `current`, AWSPREVIOUS is `previous`. Storing a value moves
 * AWSCURRENT to it (Secrets Manager moves AWSPREVIOUS to the version it left); keeping the previous
 * version unchanged moves AWSPREVIOUS back. The client is injected (configured once per process);
 * this module never logs, and its errors name the secret and the failed call, never a value or
 * the SDK error (whose request could be serialised along with it).
 */
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import {
  assertCredentialKey,
  type CredentialStage,
  type CredentialStore,
  CredentialStoreError,
  type CredentialVersions,
  type PreviousPolicy,
  type StoredCredential,
} from './store.ts';

const CURRENT = 'AWSCURRENT';
const PREVIOUS = 'AWSPREVIOUS';
const LABELS: Readonly<Record<CredentialStage, string>> = { current: CURRENT, previous: PREVIOUS };

function isNotFound(error: unknown): boolean {
  return (error as Error | undefined)?.name === 'ResourceNotFoundException';
}

export interface SecretsManagerCredentialStoreOptions {
  readonly client: SecretsManagerClient;
  /** Name prefix of every credential secret (`ENV.credentialPrefix`), e.g. `execfabric/http-credentials/`. */
  readonly prefix: string;
  /** KMS key for new secrets. @default the account's `aws/secretsmanager` key */
  readonly kmsKeyId?: string;
}

export class SecretsManagerCredentialStore implements CredentialStore {
  readonly #client: SecretsManagerClient;
  readonly #prefix: string;
  readonly #kmsKeyId: string | undefined;

  constructor(options: SecretsManagerCredentialStoreOptions) {
    if (options.prefix === '') throw new CredentialStoreError('The credential name prefix is empty');
    this.#client = options.client;
    this.#prefix = options.prefix;
    this.#kmsKeyId = options.kmsKeyId;
  }

  /** The secret's name for a key. */
  secretName(key: string): string {
    assertCredentialKey(key);
    return `${this.#prefix}${key}`;
  }

  async read(key: string, stage: CredentialStage): Promise<StoredCredential | null> {
    const name = this.secretName(key);
    try {
      const result = await this.#client.send(
        new GetSecretValueCommand({ SecretId: name, VersionStage: LABELS[stage] }),
      );
      if (result.SecretString === undefined || result.VersionId === undefined) return null;
      return { value: result.SecretString, versionId: result.VersionId, stage };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw this.#failure('GetSecretValue', name, error);
    }
  }

  async versions(key: string): Promise<CredentialVersions> {
    const name = this.secretName(key);
    try {
      const described = await this.#client.send(new DescribeSecretCommand({ SecretId: name }));
      return labelled(described.VersionIdsToStages ?? {});
    } catch (error) {
      if (isNotFound(error)) return {};
      throw this.#failure('DescribeSecret', name, error);
    }
  }

  async put(
    key: string,
    value: string,
    previous: PreviousPolicy,
  ): Promise<CredentialVersions & { current: string }> {
    const name = this.secretName(key);
    const before = await this.versions(key);
    if (before.current === undefined) {
      const created = await this.#create(name, value);
      if (created !== null) return { current: created };
    }
    let current: string;
    try {
      const put = await this.#client.send(new PutSecretValueCommand({ SecretId: name, SecretString: value }));
      if (put.VersionId === undefined)
        throw new CredentialStoreError(`PutSecretValue on ${name} named no version`);
      current = put.VersionId;
    } catch (error) {
      throw this.#failure('PutSecretValue', name, error);
    }
    // Secrets Manager moved AWSPREVIOUS onto the version that was current; put it back if asked.
    const movedFrom = before.current;
    if (previous === 'unchanged' && movedFrom !== undefined && movedFrom !== current) {
      await this.#label(name, {
        VersionStage: PREVIOUS,
        RemoveFromVersionId: movedFrom,
        ...(before.previous === undefined ? {} : { MoveToVersionId: before.previous }),
      });
      return before.previous === undefined ? { current } : { current, previous: before.previous };
    }
    return movedFrom === undefined || movedFrom === current ? { current } : { current, previous: movedFrom };
  }

  async dropPrevious(key: string): Promise<void> {
    const name = this.secretName(key);
    const { previous } = await this.versions(key);
    if (previous === undefined) return;
    await this.#label(name, { VersionStage: PREVIOUS, RemoveFromVersionId: previous });
  }

  /** Creates the secret with its first value; null when someone created it meanwhile. */
  async #create(name: string, value: string): Promise<string | null> {
    try {
      const created = await this.#client.send(
        new CreateSecretCommand({
          Name: name,
          SecretString: value,
          Description: 'ExecFabric HTTP resource credential',
          ...(this.#kmsKeyId === undefined ? {} : { KmsKeyId: this.#kmsKeyId }),
        }),
      );
      if (created.VersionId === undefined)
        throw new CredentialStoreError(`CreateSecret on ${name} named no version`);
      return created.VersionId;
    } catch (error) {
      if ((error as Error | undefined)?.name === 'ResourceExistsException') return null;
      throw this.#failure('CreateSecret', name, error);
    }
  }

  async #label(
    name: string,
    input: { VersionStage: string; RemoveFromVersionId?: string; MoveToVersionId?: string },
  ): Promise<void> {
    try {
      await this.#client.send(new UpdateSecretVersionStageCommand({ SecretId: name, ...input }));
    } catch (error) {
      throw this.#failure('UpdateSecretVersionStage', name, error);
    }
  }

  #failure(call: string, name: string, error: unknown): CredentialStoreError {
    if (error instanceof CredentialStoreError) return error;
    const kind = (error as Error | undefined)?.name ?? 'Error';
    const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata
      ?.httpStatusCode;
    return new CredentialStoreError(
      `Secrets Manager ${call} on ${name} failed: ${kind}${status === undefined ? '' : ` (HTTP ${status})`}`,
    );
  }
}

function labelled(stages: Record<string, string[]>): CredentialVersions {
  let current: string | undefined;
  let previous: string | undefined;
  for (const [versionId, labels] of Object.entries(stages)) {
    if (labels.includes(CURRENT)) current = versionId;
    else if (labels.includes(PREVIOUS)) previous = versionId;
  }
  return {
    ...(current === undefined ? {} : { current }),
    ...(previous === undefined ? {} : { previous }),
  };
}
