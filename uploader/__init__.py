"""uploader"""
