"""HTML -> the fields of a post: article text and metadata, dates, canonical URLs."""
