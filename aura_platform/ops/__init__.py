"""Operations: health of every store and source, backups, failure alerts."""
