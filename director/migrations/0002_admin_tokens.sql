-- Administrator tokens added while directors run (`director admin-token`): every director
-- process sharing the database accepts them at once. Tokens made by `director init` stay
-- in director.json.
CREATE TABLE admin_tokens (
    token_sha256 TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    created BIGINT NOT NULL
);
