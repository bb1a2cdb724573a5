"""Operations, one small module per family, registered by their URL names."""
