"""Deterministic demo sources: Odoo and APN databases, landing files and Mongo documents.

Entry point: ``aura_demo.generator.generate_demo``.
"""
