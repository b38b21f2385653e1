"""Table definitions for queries. The DDL itself lives in numbered migrations."""
from sqlalchemy import BLOB, Column, Integer, MetaData, Table, Text

metadata = MetaData()

collections = Table(
    "collections", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("spec", Text, nullable=False),          # EmbeddingSpec JSON
    Column("index_config", Text, nullable=False),  # {"type": "flat", ...}
    Column("last_seq", Integer, nullable=False),    # last change applied
    Column("created_at", Text, nullable=False),
)

documents = Table(
    "documents", metadata,
    Column("row_id", Integer, primary_key=True),  # the FAISS id; never reused
    Column("collection_id", Integer, nullable=False),
    Column("doc_id", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("metadata", Text),                      # JSON object or NULL
    Column("content_hash", Text, nullable=False),
    Column("vector", BLOB, nullable=False),        # float32 little-endian
    Column("seq", Integer, nullable=False),         # change that wrote this row
    Column("parent_id", Text),                     # chunks: the document they were cut from
    Column("span_start", Integer),                 # chunks: character span in the parent's text
    Column("span_end", Integer),
    Column("source", Text),                        # file path the text came from, if any
)

parents = Table(
    "parents", metadata,
    Column("collection_id", Integer, primary_key=True),
    Column("parent_id", Text, primary_key=True),
    Column("content_hash", Text, nullable=False),
    Column("chunking", Text, nullable=False),      # JSON of the chunking settings
    Column("source", Text),
)

tombstones = Table(
    "tombstones", metadata,
    Column("row_id", Integer, primary_key=True),
    Column("collection_id", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
)
