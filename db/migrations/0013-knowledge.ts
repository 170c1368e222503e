import { Migration } from '@mikro-orm/migrations';

/**
 * Knowledge bases (issue 18): bases, their documents (the bytes as uploaded, so a
 * re-ingestion needs nothing from outside) and chunks with a full-text vector and an
 * embedding. Embeddings are stored as float8[] on every installation (exact cosine);
 * when the `vector` extension exists (deploy/postgres/init.sh) a `vector` column with an
 * HNSW index is added by the ingestion itself, per base dimension (see db/knowledge.ts).
 */
export class Migration20261201230000_knowledge extends Migration {

  override name = 'Migration20261201230000_knowledge';

  override up(): void | Promise<void> {
    this.addSql(`create table "knowledge_base" ("id" uuid not null, "name" varchar(200) not null, "description" text not null default '', "credential_id" varchar(200) null, "model" varchar(200) not null, "owner_id" uuid null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "knowledge_base_owner_id_index" on "knowledge_base" ("owner_id");`);
    this.addSql(`create table "knowledge_document" ("id" uuid not null, "base_id" uuid not null, "name" varchar(300) not null, "format" varchar(10) not null, "source_url" text null, "content" bytea not null, "sha256" varchar(64) not null, "version" int not null default 1, "ready_version" int null, "status" varchar(12) not null, "error" text null, "chunk_count" int not null default 0, "embedded_count" int not null default 0, "workflow_id" varchar(300) null, "ingested_ms" int null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"), constraint "knowledge_document_base_id_foreign" foreign key ("base_id") references "knowledge_base" ("id") on delete cascade);`);
    this.addSql(`create index "knowledge_document_base_id_index" on "knowledge_document" ("base_id");`);
    this.addSql(`create table "knowledge_chunk" ("id" varchar(64) not null, "base_id" uuid not null, "document_id" uuid not null, "version" int not null, "ordinal" int not null, "heading" text not null default '', "text" text not null, "language" varchar(10) not null, "tsv" tsvector not null, "embedding" float8[] null, primary key ("id"), constraint "knowledge_chunk_document_id_foreign" foreign key ("document_id") references "knowledge_document" ("id") on delete cascade);`);
    this.addSql(`create index "knowledge_chunk_base_id_index" on "knowledge_chunk" ("base_id");`);
    this.addSql(`create index "knowledge_chunk_document_id_version_index" on "knowledge_chunk" ("document_id", "version");`);
    this.addSql(`create index "knowledge_chunk_tsv_index" on "knowledge_chunk" using gin ("tsv");`);
    this.addSql(`alter table "access_grant" drop constraint if exists "access_grant_resource_type_check";`);
    this.addSql(`alter table "access_grant" add constraint "access_grant_resource_type_check" check ("resource_type" in ('chain', 'bot', 'credential', 'knowledge_base'));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`delete from "access_grant" where "resource_type" = 'knowledge_base';`);
    this.addSql(`alter table "access_grant" drop constraint if exists "access_grant_resource_type_check";`);
    this.addSql(`alter table "access_grant" add constraint "access_grant_resource_type_check" check ("resource_type" in ('chain', 'bot', 'credential'));`);
    this.addSql(`drop table if exists "knowledge_chunk" cascade;`);
    this.addSql(`drop table if exists "knowledge_document" cascade;`);
    this.addSql(`drop table if exists "knowledge_base" cascade;`);
  }

}
