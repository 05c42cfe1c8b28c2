"""Training F, then G with F frozen (the paper's Sections 3, 5.2, 6.1)."""
