-- Per-ECU image encryption: each hardware id's policy, each ECU's X25519 decryption key,
-- each image's content key (wrapped under the director's master key), ciphertext and
-- chunk index (the SHA-256 of every 4 KiB of ciphertext),
-- and the encryption block an issued assignment lists.

CREATE TABLE encryption_policies (
    hardware_id TEXT PRIMARY KEY,
    policy TEXT NOT NULL
);

CREATE TABLE ecu_decryption_keys (
    vin TEXT NOT NULL,
    serial TEXT NOT NULL,
    public_key TEXT NOT NULL,
    registered BIGINT NOT NULL,
    PRIMARY KEY (vin, serial)
);

CREATE TABLE content_keys (
    target TEXT NOT NULL,
    plaintext_sha256 TEXT NOT NULL,
    cek_at_rest TEXT NOT NULL,
    iv TEXT NOT NULL UNIQUE,
    ciphertext TEXT NOT NULL UNIQUE,
    ciphertext_length BIGINT NOT NULL,
    chunk_index TEXT NOT NULL UNIQUE,
    chunk_index_length BIGINT NOT NULL,
    PRIMARY KEY (target, plaintext_sha256)
);

CREATE TABLE assignment_encryption (
    assignment_id TEXT PRIMARY KEY,
    block TEXT NOT NULL
);
