"""Project archives: the whole project as one versioned JSON document, exported and imported."""
