-- mail_journal: what the IMAP source did with each message, keyed by account, folder,
-- UIDVALIDITY and UID. A row is claimed (with a lease) before the message is fetched, so two
-- processes on one mailbox never both fetch it; captured once its .eml is a document; done,
-- failed or refused once the server action (move, flag, delete, move to the error folder) ran.
CREATE TABLE mail_journal (
    account     TEXT    NOT NULL,
    folder      TEXT    NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid         INTEGER NOT NULL,
    state       TEXT    NOT NULL,
    doc_id      INTEGER,
    owner       TEXT,
    lease_until INTEGER,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    size        INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (account, folder, uidvalidity, uid)
);
CREATE INDEX mail_journal_state ON mail_journal (account, folder, uidvalidity, state);
