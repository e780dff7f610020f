-- documents: one row per document; it is also the work queue (stage = what runs next)
CREATE TABLE documents (
    id            BIGSERIAL PRIMARY KEY,
    source        TEXT    NOT NULL,
    source_ref    TEXT    NOT NULL,
    source_path   TEXT    NOT NULL,
    batch         TEXT,
    blake3        TEXT,
    size          BIGINT  NOT NULL DEFAULT 0,
    original_key  TEXT,
    format        TEXT,
    status        TEXT    NOT NULL,
    stage         TEXT,
    duplicate_of  BIGINT,
    pages         BIGINT,
    pdf_key       TEXT,
    text_key      TEXT,
    doc_type      TEXT,
    keys_json     TEXT    NOT NULL DEFAULT '{}',
    metadata_json TEXT    NOT NULL DEFAULT '{}',
    problems_json TEXT    NOT NULL DEFAULT '[]',
    targets_json  TEXT    NOT NULL DEFAULT '[]',
    attempts      BIGINT  NOT NULL DEFAULT 0,
    run_after     BIGINT  NOT NULL,
    lease_owner   TEXT,
    lease_until   BIGINT,
    last_error    TEXT,
    failed_stage  TEXT,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    UNIQUE (source, source_ref)
);
CREATE INDEX documents_ready ON documents (status, run_after);
CREATE INDEX documents_blake3 ON documents (blake3);
CREATE INDEX documents_batch ON documents (batch);

-- the audit trail: capture, every stage, which rule set which key, manual actions
CREATE TABLE events (
    id          BIGSERIAL PRIMARY KEY,
    doc_id      BIGINT  NOT NULL,
    at          BIGINT  NOT NULL,
    stage       TEXT    NOT NULL,
    message     TEXT    NOT NULL
);
CREATE INDEX events_doc ON events (doc_id, id);

CREATE TABLE clients (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    extra_json  TEXT NOT NULL DEFAULT '{}',
    updated_at  BIGINT NOT NULL
);

CREATE TABLE forms (
    form_id     TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    extra_json  TEXT NOT NULL DEFAULT '{}',
    updated_at  BIGINT NOT NULL
);

CREATE TABLE invoices (
    number       TEXT PRIMARY KEY,
    client_code  TEXT,
    invoice_date TEXT,
    total        TEXT,
    doc_id       BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE attachments (
    doc_id      BIGINT NOT NULL,
    kind        TEXT   NOT NULL,
    target      TEXT   NOT NULL,
    origin      TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (doc_id, kind, target)
);
CREATE INDEX attachments_target ON attachments (kind, target);
