import { readFileSync } from 'node:fs';
import { Client, Connection, type ConnectionLike } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import protoPackage from '@temporalio/proto';
import type { Config } from '../config.ts';
import { searchAttributeTypes } from '../workflows/search-attributes.ts';

export interface TemporalTarget {
  address: string;
  namespace: string;
  apiKey?: string | undefined;
  tls?: boolean | undefined;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  tlsCa?: string | undefined;
}

/** The Temporal endpoint from the configuration (external cluster, Cloud, or the dev server). */
export function temporalTarget(config: Config, devAddress?: string): TemporalTarget {
  const t = config.temporal;
  const address = t.address ?? devAddress ?? `127.0.0.1:${t.devPort}`;
  return { address, namespace: t.namespace, apiKey: t.apiKey, tls: t.tls, tlsCert: t.tlsCert, tlsKey: t.tlsKey, tlsCa: t.tlsCa };
}

function tlsOptions(target: TemporalTarget) {
  if (!target.tls && !target.tlsCert && !target.apiKey) return undefined;
  return {
    ...(target.tlsCa ? { serverRootCACertificate: readFileSync(target.tlsCa) } : {}),
    ...(target.tlsCert && target.tlsKey
      ? { clientCertPair: { crt: readFileSync(target.tlsCert), key: readFileSync(target.tlsKey) } }
      : {}),
  };
}

/** A client connection (API side). */
export async function connectClient(target: TemporalTarget): Promise<Client> {
  const connection = await Connection.connect({
    address: target.address,
    tls: tlsOptions(target),
    apiKey: target.apiKey,
    connectTimeout: '10s',
  });
  return new Client({ connection, namespace: target.namespace });
}

/** A worker connection (native, used by Worker.create). */
export async function connectWorker(target: TemporalTarget): Promise<NativeConnection> {
  return NativeConnection.connect({ address: target.address, tls: tlsOptions(target), apiKey: target.apiKey });
}

/**
 * Registers Chainflow's search attributes on the namespace when they are missing
 * (self-hosted clusters and dev servers started by hand). On Temporal Cloud this needs
 * an admin key; the error then says how to add them.
 */
export async function ensureSearchAttributes(connection: ConnectionLike, namespace: string): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const have = { ...existing.customAttributes, ...existing.systemAttributes };
  const IndexedValueType = protoPackage.temporal.api.enums.v1.IndexedValueType;
  const wanted: Record<string, number> = {};
  for (const [name, type] of Object.entries(searchAttributeTypes)) {
    if (name in have) continue;
    wanted[name] = type === 'Int' ? IndexedValueType.INDEXED_VALUE_TYPE_INT : IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  }
  if (Object.keys(wanted).length === 0) return;
  try {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: wanted });
  } catch (err) {
    throw new Error(
      `Search attributes ${Object.keys(wanted).join(', ')} are missing on namespace "${namespace}" and could not be added ` +
        `(${err instanceof Error ? err.message : String(err)}). Add them with ` +
        `\`temporal operator search-attribute create --namespace ${namespace} --name ChainId --type Keyword\` (and the others in docs/deploy.md).`,
      { cause: err },
    );
  }
}

/** Resolves true when the namespace answers a describe call. */
export async function namespaceReady(connection: ConnectionLike, namespace: string): Promise<boolean> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } catch {
    return false;
  }
}
