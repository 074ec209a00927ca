import './base.css';
import './attachments.css';
import './upload.css';
