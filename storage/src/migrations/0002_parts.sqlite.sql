-- parts: a print run burst into one document per invoice. The run stays a document of its
-- own (status 'split'); each part points to it and names its page range in the run.
ALTER TABLE documents ADD COLUMN parent_id INTEGER REFERENCES documents (id);
ALTER TABLE documents ADD COLUMN page_first INTEGER;
ALTER TABLE documents ADD COLUMN page_last INTEGER;
CREATE INDEX documents_parent ON documents (parent_id);
