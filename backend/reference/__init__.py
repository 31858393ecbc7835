"""Reference data as plain values: ticker rules, benchmark symbols, the price panel's columns
and the seed of the categories and the model portfolio.

A leaf: nothing here imports anything else from `backend`, so every layer may import it. What
runs reads the categories and the model holdings from the database (`backend.market_data.
categories`); the seed values here are what a new database starts from and what tests compare
against.
"""
