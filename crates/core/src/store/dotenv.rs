//! The dotenv store.
