import { Migration } from '@mikro-orm/migrations';

/**
 * pgvector for knowledge chunks (issue 18), on the installations that have it: creates the
 * `vector` extension when the server ships it (the production compose's
 * `pgvector/pgvector:pg16` image; deploy/postgres/init.sh creates it too, as the superuser)
 * and adds the `embedding_v vector` column next to the float8[] one. On a server without
 * the extension (the embedded PostgreSQL), or where our role may not create it, nothing
 * changes and retrieval keeps the exact float8[] scan (db/knowledge.ts). The HNSW indexes
 * (one per base and dimension, cosine) are created by the ingestion, when a base's
 * dimension is first known.
 *
 * Also the ingestion's progress log (`knowledge_ingest_event`): one row per stage and per
 * embedded batch, for GET /knowledge-bases/{id}/documents/{documentId}/events.
 */
export class Migration20261202040000_knowledge_vector extends Migration {

  override name = 'Migration20261202040000_knowledge_vector';

  override up(): void | Promise<void> {
    this.addSql(`create table "knowledge_ingest_event" ("id" bigserial not null, "document_id" uuid not null, "version" int not null, "stage" varchar(12) not null, "embedded" int not null, "total" int not null, "message" text null, "created_at" timestamptz not null default now(), primary key ("id"), constraint "knowledge_ingest_event_document_id_foreign" foreign key ("document_id") references "knowledge_document" ("id") on delete cascade);`);
    this.addSql(`create index "knowledge_ingest_event_document_id_id_index" on "knowledge_ingest_event" ("document_id", "id");`);
    this.addSql(`do $$
begin
  if not exists (select 1 from pg_extension where extname = 'vector') and exists (select 1 from pg_available_extensions where name = 'vector') then
    begin
      create extension if not exists vector;
    exception when insufficient_privilege then
      raise notice 'pgvector is available but this role may not create it: run "create extension vector" as a superuser, then restart (the exact float8[] search is used until then)';
    end;
  end if;
  if exists (select 1 from pg_extension where extname = 'vector') then
    execute 'alter table knowledge_chunk add column if not exists embedding_v vector';
    execute 'update knowledge_chunk set embedding_v = embedding::vector where embedding is not null and embedding_v is null';
  end if;
end
$$;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "knowledge_chunk" drop column if exists "embedding_v";`);
    this.addSql(`drop table if exists "knowledge_ingest_event" cascade;`);
  }

}
